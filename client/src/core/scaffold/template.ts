// The template model shared by "LKM: New Module…", `lkm new` and the generated snippets: a template's
// text holds `{{key}}` placeholders; rendering fills them with values, snippet generation turns them
// into VS Code tab stops. One text, two outputs, so the snippets cannot drift from the templates.

/** A name the user chooses. Its position in a template's list is its tab-stop number (1-based). */
export interface Placeholder {
  key: string;
  default: string;
  /** Offered as a snippet choice (`${n|a,b|}`); the first is the default. */
  choices?: readonly string[];
}

export interface TemplateFile {
  /** Path inside the module folder; may contain `{{name}}`. */
  path: string;
  text: string;
}

export interface ModuleTemplate {
  id: string;
  label: string;
  detail: string;
  /** Placeholders in tab-stop order; `name` (the module name) is always first. */
  placeholders: readonly Placeholder[];
  /** The first file is the main source: the one opened after creation and the one a snippet inserts. */
  files: readonly TemplateFile[];
  /** Object files of a multi-file module (`{{name}}-y`); undefined for a single-file module. */
  objects?: readonly string[];
  /** Snippet prefix; undefined when the template has no C snippet of its own. */
  snippetPrefix?: string;
  /** Module parameters a demonstration load needs (e.g. an IRQ number); empty for most templates. */
  loadParameters?: string;
}

/** A snippet that is a part of a module rather than a whole one (e.g. a module parameter). */
export interface FragmentSnippet {
  prefix: string;
  label: string;
  detail: string;
  language: 'c' | 'makefile';
  placeholders: readonly Placeholder[];
  text: string;
}

export type PlaceholderValues = Readonly<Record<string, string>>;

/** `{{key}}`; `{{NAME}}` is the upper-case form of `name` (for macros). */
const placeholderPattern = /\{\{(\w+)\}\}/g;
const upperCaseNameKey = 'NAME';

function lookupPlaceholder(placeholders: readonly Placeholder[], key: string): number {
  const index = placeholders.findIndex((placeholder) => placeholder.key === (key === upperCaseNameKey ? 'name' : key));
  if (index < 0) throw new Error(`template text uses {{${key}}} but declares no such placeholder`);
  return index;
}

export function defaultValues(placeholders: readonly Placeholder[]): Record<string, string> {
  return Object.fromEntries(placeholders.map((placeholder) => [placeholder.key, placeholder.default]));
}

/** Fills every placeholder; a key without a value is a template bug and throws. */
export function renderText(text: string, placeholders: readonly Placeholder[], values: PlaceholderValues): string {
  return text.replace(placeholderPattern, (_match, key: string) => {
    const placeholder = placeholders[lookupPlaceholder(placeholders, key)];
    const value = values[placeholder.key] ?? placeholder.default;
    return key === upperCaseNameKey ? value.toUpperCase() : value;
  });
}

/**
 * Escapes literal text outside placeholders: `$` starts syntax, and a backslash is an escape only
 * before `$`, `}` or `\\` (elsewhere VS Code keeps it), so C's "\\n" stays readable in the JSON.
 */
function escapeSnippetText(text: string): string {
  return text.replace(/\\(?=[$}\\])|\$/g, (character) => `\\${character}`);
}

/** Escapes a placeholder default, where `}` would also end the placeholder. */
function escapePlaceholderDefault(text: string): string {
  return text.replace(/[\\$}]/g, (character) => `\\${character}`);
}

function escapeChoice(choice: string): string {
  return choice.replace(/[\\$}|,]/g, (character) => `\\${character}`);
}

/**
 * Turns template text into a VS Code snippet body: the first use of a placeholder becomes
 * `${n:default}` (or a choice), later uses mirror it as `${n}`, and `{{NAME}}` becomes an upper-casing
 * transform of tab stop `name`, so renaming the module once renames every identifier.
 */
export function snippetBody(text: string, placeholders: readonly Placeholder[]): string[] {
  const introduced = new Set<number>();
  let body = '';
  let last = 0;
  for (const match of text.matchAll(placeholderPattern)) {
    body += escapeSnippetText(text.slice(last, match.index));
    last = match.index + match[0].length;
    const key = match[1];
    const index = lookupPlaceholder(placeholders, key);
    const tabStop = index + 1;
    if (key === upperCaseNameKey) {
      body += `\${${tabStop}/(.*)/\${1:/upcase}/}`;
      continue;
    }
    if (introduced.has(tabStop)) {
      body += `\${${tabStop}}`;
      continue;
    }
    introduced.add(tabStop);
    const placeholder = placeholders[index];
    body += placeholder.choices
      ? `\${${tabStop}|${placeholder.choices.map(escapeChoice).join(',')}|}`
      : `\${${tabStop}:${escapePlaceholderDefault(placeholder.default)}}`;
  }
  body += escapeSnippetText(text.slice(last));
  return body.split('\n');
}
