export async function serveDebugAdapter(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<void> {}
