import { TomlError } from 'smol-toml';
import { errorText } from '../errors.js';

/**
 * A TOML parse error as the parser reports it, with its line, column and the lines around it, so a
 * user can go straight to the mistake. Quoted values in the excerpt are masked: the line that does
 * not parse may be the one holding a password or a token.
 */
export function tomlErrorText(e: unknown): string {
  if (!(e instanceof TomlError)) return errorText(e).split('\n')[0]!;
  const [reason, ...rest] = e.message.split('\n');
  const excerpt = rest
    .filter((l) => l.trim() !== '')
    .map((l) => '    ' + l.replace(/"(?:[^"\\]|\\.)*"?|'[^']*'?/g, (q) => (q.length > 2 ? `${q[0]}…${q[0]}` : q)));
  return `line ${e.line}, column ${e.column}: ${reason!.replace(/^Invalid TOML document: /, '')}${excerpt.length ? `\n${excerpt.join('\n')}` : ''}`;
}
