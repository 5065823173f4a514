/**
 * Sends one message to the process that started this one over its IPC channel, resolving once it
 * is written; without a channel (run by hand), prints it as a JSON line on stdout instead.
 */
export function sendToParent(message: unknown): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) {
      process.stdout.write(`${JSON.stringify(message)}\n`);
      resolve();
      return;
    }
    process.send(message, () => resolve());
  });
}
