# zsh -f complete.zsh 'barysafe che' : types the words and TAB into a real interactive zsh (zpty),
# so ZLE and compsys complete them as for a user; the matches are in $BARYSAFE_COMPLETION_OUT.
zmodload zsh/zpty || exit 3
here=${0:A:h}
zpty z zsh -f -i
zpty -w z "source ${(q)here}/capture.zsh"
zpty -w -n z "$1"$'\t'
for i in {1..150}; do
  [[ -f $BARYSAFE_COMPLETION_OUT ]] && grep -qx '#done' $BARYSAFE_COMPLETION_OUT && break
  zpty -r -t z junk 2>/dev/null
  sleep 0.1
done
zpty -d z
grep -qx '#done' $BARYSAFE_COMPLETION_OUT || exit 4
