import type { Command } from '../command.js';
import { completionScript, SHELLS } from '../completion.js';
import { EXIT } from '../errors.js';

export const completion: Command = {
  name: 'completion',
  args: `<${SHELLS.join('|')}>`,
  summary: 'Print a shell completion script for commands and options',
  usesApi: false,
  notes: [
    'bash: source <(outpost completion bash)        (in ~/.bashrc)',
    'zsh:  source <(outpost completion zsh)         (in ~/.zshrc, after compinit)',
    'fish: outpost completion fish > ~/.config/fish/completions/outpost.fish',
  ],
  async run(ctx) {
    ctx.out(completionScript(ctx.positionals[0]!));
    return EXIT.ok;
  },
};
