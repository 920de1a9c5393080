# Sourced by the interactive zsh that complete.zsh drives: compsys, the script under test, and a
# compadd that records every match the completion adds ($BARYSAFE_COMPLETION_OUT), then a marker.
# The script either from a folder in $fpath (installed as the file _barysafe) or sourced after compinit.
[[ -n $BARYSAFE_COMPLETION_FPATH ]] && fpath=("$BARYSAFE_COMPLETION_FPATH" $fpath)
autoload -Uz compinit && compinit -u -D
[[ -z $BARYSAFE_COMPLETION_FPATH ]] && source "$BARYSAFE_COMPLETION_SCRIPT"
compadd() {
  # Queries (-O, -A, -D fill an array and add nothing): pass them through untouched.
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
    builtin compadd "$@"
    return
  fi
  local -a __hits
  builtin compadd -A __hits "$@"
  (( $#__hits )) && print -rl -- $__hits >> "$BARYSAFE_COMPLETION_OUT"
  builtin compadd "$@"
}
_barysafe_test_done() { print -r -- '#done' >> "$BARYSAFE_COMPLETION_OUT" }
comppostfuncs=(_barysafe_test_done)
bindkey '^I' complete-word
