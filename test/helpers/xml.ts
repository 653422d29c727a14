/**
 * A small, strict XML 1.0 reader for the JUnit report: it throws on anything not well-formed
 * (unbalanced or crossed tags, a raw `<` or `&` in text or attributes, unknown entity references,
 * duplicate attributes, characters XML forbids, text outside the root) and returns the element
 * tree. No DTDs, CDATA or processing instructions beyond the declaration: the report uses none.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Character data directly inside, entities resolved. */
  text: string;
}

const NAME = /^[A-Za-z_:][\w.:-]*/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: '\'' };
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

function decode(raw: string, where: string): string {
  if (FORBIDDEN.test(raw)) throw new Error(`a character XML forbids ${where}`);
  if (raw.includes('<')) throw new Error(`a raw < ${where}`);
  return raw.replace(/&([^;]*);|&/g, (_all, ref: string | undefined) => {
    if (ref === undefined) throw new Error(`a raw & ${where}`);
    if (ref in ENTITIES) return ENTITIES[ref]!;
    const m = /^#(x[0-9a-fA-F]+|[0-9]+)$/.exec(ref);
    if (!m) throw new Error(`unknown entity &${ref}; ${where}`);
    const code = m[1]!.startsWith('x') ? parseInt(m[1]!.slice(1), 16) : Number(m[1]);
    const c = String.fromCodePoint(code);
    if (FORBIDDEN.test(c)) throw new Error(`a reference to a character XML forbids ${where}`);
    return c;
  });
}

export function parseXml(xml: string): XmlElement {
  let i = 0;
  const decl = /^<\?xml\s+version="1\.[0-9]"(\s+encoding="[A-Za-z0-9._-]+")?(\s+standalone="(yes|no)")?\s*\?>/.exec(xml);
  if (decl) i = decl[0].length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (stack.length === 0) {
      if (text.trim() !== '') throw new Error(`text outside the root element at ${i}`);
    } else stack.at(-1)!.text += decode(text, `in <${stack.at(-1)!.name}>`);
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i + 4);
      if (end < 0) throw new Error('an unclosed comment');
      i = end + 3;
      continue;
    }
    if (xml.startsWith('</', i)) {
      const m = NAME.exec(xml.slice(i + 2));
      const name = m?.[0];
      const top = stack.pop();
      if (!name || !top || top.name !== name) throw new Error(`</${name}> does not close <${top?.name}> at ${i}`);
      const close = /^\s*>/.exec(xml.slice(i + 2 + name.length));
      if (!close) throw new Error(`a bad end tag at ${i}`);
      i += 2 + name.length + close[0].length;
      continue;
    }
    const m = NAME.exec(xml.slice(i + 1));
    if (!m) throw new Error(`a bad tag at ${i}: ${JSON.stringify(xml.slice(i, i + 20))}`);
    const el: XmlElement = { name: m[0], attrs: {}, children: [], text: '' };
    i += 1 + m[0].length;
    for (;;) {
      const ws = /^\s*/.exec(xml.slice(i))![0];
      i += ws.length;
      if (xml.startsWith('/>', i) || xml.startsWith('>', i)) break;
      if (ws === '') throw new Error(`attributes must be separated by space at ${i}`);
      const a = /^([A-Za-z_:][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/.exec(xml.slice(i));
      if (!a) throw new Error(`a bad attribute at ${i}: ${JSON.stringify(xml.slice(i, i + 30))}`);
      if (a[1]! in el.attrs) throw new Error(`attribute ${a[1]} given twice in <${el.name}>`);
      el.attrs[a[1]!] = decode(a[3] ?? a[4]!, `in attribute ${a[1]} of <${el.name}>`);
      i += a[0].length;
    }
    if (stack.length > 0) stack.at(-1)!.children.push(el);
    else if (root) throw new Error('a second root element');
    else root = el;
    if (xml.startsWith('/>', i)) i += 2;
    else { i += 1; stack.push(el); }
  }
  if (stack.length > 0) throw new Error(`<${stack.at(-1)!.name}> is never closed`);
  if (!root) throw new Error('no root element');
  return root;
}

/** Every element named `name` under `el`, depth first. */
export function findAll(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => { if (e.name === name) out.push(e); e.children.forEach(walk); };
  walk(el);
  return out;
}
