// Expands a VS Code snippet body the way the editor's snippet engine does (the TextMate-style
// syntax of https://code.visualstudio.com/docs/editor/userdefinedsnippets#_grammar): tab stops,
// placeholders, choices, mirrors and regex transforms with /upcase, /downcase, /capitalize.
// Written independently of the generator in client/src/core/scaffold/template.ts, so a generator bug
// (a bad escape, an unbalanced brace, two defaults for one tab stop) makes the expansion fail.
// The result is the text once the user has tabbed past the tab stops: VS Code shows a transformed
// mirror untransformed until the cursor leaves its tab stop. Checked against code-server 4.139.1
// (VS Code 1.139): every snippet inserted with editor.action.insertSnippet, with defaults and with a
// typed name, matched this expansion.

type Node =
  | { kind: 'text'; value: string }
  | { kind: 'tabstop'; index: number; children?: Node[]; choices?: string[]; transform?: Transform };

interface Transform {
  regex: RegExp;
  format: string;
}

class Parser {
  private position = 0;
  constructor(private readonly source: string) {}

  parse(): Node[] {
    const nodes = this.parseSequence(false);
    if (this.position < this.source.length) this.fail('unexpected }');
    return nodes;
  }

  private fail(message: string): never {
    throw new Error(`snippet syntax: ${message} at offset ${this.position}: …${this.source.slice(Math.max(0, this.position - 30), this.position + 30)}…`);
  }

  /** Text and tab stops up to the end, or up to a `}` that closes the enclosing placeholder. */
  private parseSequence(insidePlaceholder: boolean): Node[] {
    const nodes: Node[] = [];
    let text = '';
    const flush = () => {
      if (text) nodes.push({ kind: 'text', value: text });
      text = '';
    };
    while (this.position < this.source.length) {
      const character = this.source[this.position];
      if (character === '\\') {
        const next = this.source[this.position + 1];
        if (next === '$' || next === '}' || next === '\\') {
          text += next;
          this.position += 2;
        } else {
          text += character; // VS Code keeps a backslash that escapes nothing
          this.position++;
        }
      } else if (character === '$') {
        const node = this.parseDollar();
        if (node) {
          flush();
          nodes.push(node);
        } else {
          text += character;
          this.position++;
        }
      } else if (character === '}' && insidePlaceholder) {
        break;
      } else {
        text += character;
        this.position++;
      }
    }
    flush();
    return nodes;
  }

  private readInteger(): number | undefined {
    const match = /^\d+/.exec(this.source.slice(this.position));
    if (!match) return undefined;
    this.position += match[0].length;
    return Number(match[0]);
  }

  private parseDollar(): Node | undefined {
    const start = this.position;
    this.position++; // $
    const bare = this.readInteger();
    if (bare !== undefined) return { kind: 'tabstop', index: bare };
    if (/^[A-Za-z_]/.test(this.source.slice(this.position))) this.fail('variables are not used by LKM snippets');
    if (this.source[this.position] !== '{') {
      this.position = start;
      return undefined;
    }
    this.position++; // {
    const index = this.readInteger();
    if (index === undefined) this.fail('expected a tab-stop number after ${');
    const next = this.source[this.position];
    if (next === '}') {
      this.position++;
      return { kind: 'tabstop', index };
    }
    if (next === ':') {
      this.position++;
      const children = this.parseSequence(true);
      this.expect('}');
      return { kind: 'tabstop', index, children };
    }
    if (next === '|') {
      this.position++;
      const choices = this.parseChoices();
      return { kind: 'tabstop', index, choices };
    }
    if (next === '/') {
      this.position++;
      const regex = this.readUntilSlash();
      const format = this.readUntilSlash();
      const options = /^[a-z]*/.exec(this.source.slice(this.position))![0];
      this.position += options.length;
      this.expect('}');
      return { kind: 'tabstop', index, transform: { regex: new RegExp(regex, options), format } };
    }
    return this.fail('malformed ${…}');
  }

  private parseChoices(): string[] {
    const choices: string[] = [];
    let current = '';
    while (this.position < this.source.length) {
      const character = this.source[this.position];
      if (character === '\\' && /[\\$}|,]/.test(this.source[this.position + 1] ?? '')) {
        current += this.source[this.position + 1];
        this.position += 2;
      } else if (character === ',') {
        choices.push(current);
        current = '';
        this.position++;
      } else if (character === '|' && this.source[this.position + 1] === '}') {
        choices.push(current);
        this.position += 2;
        return choices;
      } else {
        current += character;
        this.position++;
      }
    }
    return this.fail('unterminated choice');
  }

  private readUntilSlash(): string {
    let value = '';
    while (this.position < this.source.length) {
      const character = this.source[this.position];
      if (character === '\\' && this.source[this.position + 1] === '/') {
        value += '/';
        this.position += 2;
      } else if (character === '$' && this.source[this.position + 1] === '{') {
        // A format element such as ${1:/upcase} may itself contain a slash.
        const end = this.source.indexOf('}', this.position);
        if (end < 0) this.fail('unterminated format element');
        value += this.source.slice(this.position, end + 1);
        this.position = end + 1;
      } else if (character === '/') {
        this.position++;
        return value;
      } else {
        value += character;
        this.position++;
      }
    }
    return this.fail('unterminated transform');
  }

  private expect(character: string): void {
    if (this.source[this.position] !== character) this.fail(`expected ${character}`);
    this.position++;
  }
}

function applyFormat(format: string, match: RegExpExecArray): string {
  return format.replace(/\$\{(\d+):\/(upcase|downcase|capitalize)\}|\$\{(\d+)\}|\$(\d+)/g, (_all, caseGroup, caseName, braced, bare) => {
    const group = match[Number(caseGroup ?? braced ?? bare)] ?? '';
    if (caseName === 'upcase') return group.toUpperCase();
    if (caseName === 'downcase') return group.toLowerCase();
    if (caseName === 'capitalize') return group.charAt(0).toUpperCase() + group.slice(1);
    return group;
  });
}

export interface Expansion {
  text: string;
  /** Tab-stop numbers that appear, ascending. */
  tabStops: number[];
  /** The text each tab stop ended up with. */
  values: Map<number, string>;
}

/**
 * Expands `body` (the snippet's lines). `typed` gives what the user types into tab stops; the others
 * keep their default (a choice's first option). Throws on syntax errors and on a tab stop given two
 * different defaults, which VS Code would silently resolve one way.
 */
export function expandSnippet(body: readonly string[], typed: ReadonlyMap<number, string> = new Map()): Expansion {
  const nodes = new Parser(body.join('\n')).parse();
  const defaults = new Map<number, string>();
  const seen = new Set<number>();
  const collect = (list: Node[]) => {
    for (const node of list) {
      if (node.kind !== 'tabstop') continue;
      seen.add(node.index);
      let value: string | undefined;
      if (node.children) {
        collect(node.children);
        value = render(node.children);
      } else if (node.choices) {
        value = node.choices[0];
      }
      if (value === undefined) continue;
      const previous = defaults.get(node.index);
      if (previous !== undefined && previous !== value) throw new Error(`tab stop $${node.index} has two defaults: '${previous}' and '${value}'`);
      defaults.set(node.index, value);
    }
  };
  const valueOf = (index: number) => typed.get(index) ?? defaults.get(index) ?? '';
  const render = (list: Node[]): string =>
    list
      .map((node) => {
        if (node.kind === 'text') return node.value;
        if (node.transform) {
          const match = new RegExp(node.transform.regex.source, node.transform.regex.flags.replace('g', '')).exec(valueOf(node.index));
          return match ? valueOf(node.index).replace(match[0], applyFormat(node.transform.format, match)) : valueOf(node.index);
        }
        return valueOf(node.index);
      })
      .join('');
  collect(nodes);
  const tabStops = [...seen].sort((a, b) => a - b);
  return { text: render(nodes), tabStops, values: new Map(tabStops.map((index) => [index, valueOf(index)])) };
}
