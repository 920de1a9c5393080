// Help a new user can work from: the root help groups the commands by job, and every command's
// help lists its options and the global ones, with examples that name real commands and options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/main.js';
import { EXAMPLES, HELP_GROUPS } from '../src/cli/help.js';
import { runCli } from './support/deployments.js';

/** Every command path of the program: "backup", "evidence sign", … (not commander's own "help"). */
function commandPaths(cmd: Command, prefix = ''): Array<[string, Command]> {
  return cmd.commands
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => {
      const name = prefix ? `${prefix} ${c.name()}` : c.name();
      return [[name, c] as [string, Command], ...commandPaths(c, name)];
    });
}

test('barysafe --help lists the commands grouped by job, every command in one group', async () => {
  const program = await buildProgram(['node', 'barysafe', '--help']);
  const top = commandPaths(program).filter(([n]) => !n.includes(' '));
  const grouped = Object.values(HELP_GROUPS).flat();
  assert.deepEqual([...grouped].sort(), top.map(([n]) => n).sort(), 'each command in exactly one group');
  const h = await runCli(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /`barysafe COMMAND --help` shows its options and examples/);
  let at = -1;
  for (const [group, names] of Object.entries(HELP_GROUPS)) {
    const start = h.stdout.indexOf(`\n${group}\n`);
    assert.ok(start > at, `${group} after the previous group`);
    const section = h.stdout.slice(start + group.length + 2).split(/\n\n/)[0]!;
    const listed = section
      .split('\n')
      .map((l) => /^ {2}(\S+)/.exec(l)?.[1])
      .filter(Boolean);
    assert.deepEqual(listed.sort(), [...names].sort(), group);
    at = start;
  }
});

test("every command's --help lists its options, the global options and examples", async () => {
  const program = await buildProgram(['node', 'barysafe', '--help']);
  for (const [name, cmd] of commandPaths(program)) {
    const h = await runCli([...name.split(' '), '--help']);
    assert.equal(h.code, 0, name);
    for (const o of cmd.options) assert.ok(h.stdout.includes(o.flags), `${name} --help lists ${o.flags}`);
    assert.match(h.stdout, /Global Options:[\s\S]*--config <file>[\s\S]*--json/, `${name}: global options`);
    assert.match(h.stdout, /\nExamples:\n {2}# .+\n {2}\$ /, `${name}: an Examples section`);
  }
});

test('every example names a real command and only options it has', async () => {
  const program = await buildProgram(['node', 'barysafe', '--help']);
  const commands = new Map(commandPaths(program));
  const globalFlags = program.options.flatMap((o) => [o.long, o.short]).filter(Boolean);
  assert.deepEqual(
    [...commands.keys()].filter((n) => !EXAMPLES[n]),
    [],
    'every command has examples',
  );
  for (const [name, examples] of Object.entries(EXAMPLES))
    for (const [line] of examples) {
      const words = line.replace(/^source <\((.*)\)$/, '$1').split(/\s+/);
      assert.equal(words[0], 'barysafe', line);
      const args = words.slice(1);
      // Global options (and their values) first, then the command path.
      const path: string[] = [];
      const flags: string[] = [];
      for (let i = 0; i < args.length; i++) {
        const a = args[i]!;
        if (a.startsWith('-')) flags.push(a.split('=')[0]!);
        else if (commands.has([...path, a].join(' '))) path.push(a);
        else if (['--config', '--log-level'].includes(args[i - 1] ?? '')) continue;
      }
      assert.equal(path.join(' ').startsWith(name.split(' ')[0]!), true, `${line}: runs ${name}`);
      const cmd = commands.get(path.join(' '))!;
      const own = cmd.options.flatMap((o) => [o.long, o.short]).filter(Boolean);
      for (const f of flags)
        assert.ok(own.includes(f) || globalFlags.includes(f), `${line}: ${f} is an option of ${name}`);
    }
});
