import type { CommandInfo } from './catalog.js';
import { UsageError } from './cli-error.js';
import { GLOBAL_OPTIONS } from './command.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/**
 * What may come next on a command line: `args` are the words typed so far, the last one the word
 * being completed (possibly empty). Command words first; once a command is named, its options
 * when the word starts with `-`. Option values and positionals are left to the shell.
 */
export function completions(commands: readonly CommandInfo[], args: readonly string[]): string[] {
  const words = args.slice(0, -1);
  const current = args.at(-1) ?? '';
  const typed: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word.startsWith('-')) {
      const spec = GLOBAL_OPTIONS[word.slice(2)] ?? optionOf(commands, typed, word.slice(2));
      if (spec?.type === 'string' && !word.includes('=')) i++;
    } else typed.push(word);
  }
  const command = commands.find((c) => c.name === typed.slice(0, c.name.split(' ').length).join(' '));
  if (current.startsWith('-')) {
    if (!command) return [];
    const own = Object.keys(command.options ?? {});
    const global = command.usesApi === false ? ['json', 'help'] : Object.keys(GLOBAL_OPTIONS);
    return [...new Set([...own, ...global])].map((o) => `--${o}`).filter((o) => o.startsWith(current));
  }
  if (command) return [];
  const next = new Set<string>();
  for (const c of commands) {
    const names = c.name.split(' ');
    if (names.length > typed.length && typed.every((w, i) => names[i] === w)) next.add(names[typed.length]!);
  }
  return [...next].filter((w) => w.startsWith(current)).sort();
}

function optionOf(commands: readonly CommandInfo[], typed: string[], name: string) {
  return commands.find((c) => c.name === typed.slice(0, c.name.split(' ').length).join(' '))?.options?.[name.split('=')[0]!];
}

/** The script `outpost completion <shell>` prints: each Tab asks `outpost __complete` what may come next. */
export function completionScript(shell: string): string {
  switch (shell) {
    case 'bash':
      return `# outpost completion for bash: add to ~/.bashrc
#   source <(outpost completion bash)
_outpost() {
  local IFS=$'\\n'
  COMPREPLY=($(outpost __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
  [[ \${#COMPREPLY[@]} -eq 0 ]] && compopt -o default 2>/dev/null
  return 0
}
complete -F _outpost outpost`;
    case 'zsh':
      return `#compdef outpost
# outpost completion for zsh: add to ~/.zshrc (after compinit)
#   source <(outpost completion zsh)
_outpost() {
  local -a candidates
  candidates=("\${(@f)$(outpost __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ -n "\${candidates[1]}" ]]; then compadd -a candidates; else _files; fi
}
compdef _outpost outpost`;
    case 'fish':
      return `# outpost completion for fish: save as ~/.config/fish/completions/outpost.fish
#   outpost completion fish > ~/.config/fish/completions/outpost.fish
function __outpost_complete
  set -l words (commandline -opc)[2..-1] (commandline -ct)
  outpost __complete $words 2>/dev/null
end
complete -c outpost -f -a '(__outpost_complete)'`;
    default:
      throw new UsageError(`no completion for shell "${shell}"`, [`shells: ${SHELLS.join(', ')}`]);
  }
}
