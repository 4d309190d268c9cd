// Generates snippets/*.json from the templates (the only copy of the boilerplate that is edited by
// hand). `npx tsx client/src/core/scaffold/snippets.ts` rewrites the files; a test fails when they
// are stale.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { makefileSnippets } from './makefiles';
import { snippetBody, type FragmentSnippet } from './template';
import { cFragmentSnippets, moduleTemplates } from './templates';

export interface VscodeSnippet {
  prefix: string;
  body: string[];
  description: string;
}

export type SnippetFile = Record<string, VscodeSnippet>;

/** The snippet files the extension contributes, by file name under snippets/. */
export const snippetFileLanguages = { 'c.json': 'c', 'makefile.json': 'makefile' } as const;
export type SnippetFileName = keyof typeof snippetFileLanguages;

function fragmentEntry(fragment: FragmentSnippet): [string, VscodeSnippet] {
  return [fragment.label, { prefix: fragment.prefix, body: snippetBody(fragment.text, fragment.placeholders), description: fragment.detail }];
}

export function generateSnippetFiles(): Record<SnippetFileName, SnippetFile> {
  const cSnippets: [string, VscodeSnippet][] = moduleTemplates.flatMap((template) =>
    template.snippetPrefix
      ? [
          [
            template.label,
            {
              prefix: template.snippetPrefix,
              body: snippetBody(template.files[0].text, template.placeholders),
              description: `${template.detail} (whole module)`,
            },
          ] as [string, VscodeSnippet],
        ]
      : [],
  );
  return {
    'c.json': Object.fromEntries([...cSnippets, ...cFragmentSnippets.map(fragmentEntry)]),
    'makefile.json': Object.fromEntries(makefileSnippets.map(fragmentEntry)),
  };
}

export function serializeSnippetFile(file: SnippetFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

export function writeSnippetFiles(snippetsDir: string): string[] {
  return Object.entries(generateSnippetFiles()).map(([fileName, file]) => {
    const target = path.join(snippetsDir, fileName);
    writeFileSync(target, serializeSnippetFile(file));
    return target;
  });
}

if (require.main === module) {
  for (const written of writeSnippetFiles(path.resolve(__dirname, '../../../../snippets'))) console.log(`wrote ${written}`);
}
