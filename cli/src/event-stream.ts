/** Reads a Server-Sent Events body to its end, calling `data` with each event's data and `comment` with each comment line. */
export async function readEventStream(
  res: Response,
  on: { data(data: string): void; comment(text: string): void },
): Promise<void> {
  const body = res.body;
  if (!body) return;
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) on.comment(line.slice(1).trim());
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length > 0) on.data(data.join('\n'));
    }
  }
}
