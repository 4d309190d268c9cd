// Reads struct layouts from the kernel's BTF (the `.BTF` section of the guest's vmlinux, the same
// data as /sys/kernel/btf/vmlinux). The debugger needs a few field offsets of kernel-private structs
// (`struct module_sect_attrs` lives in kernel/module/sysfs.c, in no header), and BTF is the kernel's
// own answer for the exact build, with or without the -dbg image.
// Format: linux/Documentation/bpf/btf.rst (header, type section, string section).

const KIND = { INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10, RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19 } as const;

interface BtfType {
  name: string;
  kind: number;
  /** Size in bytes (INT, STRUCT, UNION, ENUM...) or the referenced type id (PTR, TYPEDEF, CONST...). */
  sizeOrType: number;
  members?: Array<{ name: string; type: number; bitOffset: number }>;
  array?: { elemType: number; count: number };
}

export class Btf {
  private readonly types: BtfType[] = [{ name: '', kind: 0, sizeOrType: 0 }]; // id 0 is void

  constructor(data: Buffer) {
    if (data.length < 24 || data.readUInt16LE(0) !== 0xeb9f) throw new Error('not BTF data (bad magic)');
    const headerLength = data.readUInt32LE(4);
    const typeStart = headerLength + data.readUInt32LE(8);
    const typeEnd = typeStart + data.readUInt32LE(12);
    const strStart = headerLength + data.readUInt32LE(16);
    const str = (offset: number) => {
      const end = data.indexOf(0, strStart + offset);
      return data.toString('utf8', strStart + offset, end);
    };
    for (let at = typeStart; at < typeEnd; ) {
      const info = data.readUInt32LE(at + 4);
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      const kindFlag = info >>> 31;
      const type: BtfType = { name: str(data.readUInt32LE(at)), kind, sizeOrType: data.readUInt32LE(at + 8) };
      at += 12;
      if (kind === KIND.STRUCT || kind === KIND.UNION) {
        type.members = [];
        for (let i = 0; i < vlen; i++, at += 12) {
          const offset = data.readUInt32LE(at + 8);
          type.members.push({ name: str(data.readUInt32LE(at)), type: data.readUInt32LE(at + 4), bitOffset: kindFlag ? offset & 0xffffff : offset });
        }
      } else if (kind === KIND.ARRAY) {
        type.array = { elemType: data.readUInt32LE(at), count: data.readUInt32LE(at + 8) };
        at += 12;
      } else {
        at += extraBytes(kind, vlen);
      }
      this.types.push(type);
    }
  }

  /** The struct (or union) named `name`; throws when the kernel has none. */
  private struct(name: string): BtfType {
    const found = this.types.find((t) => (t.kind === KIND.STRUCT || t.kind === KIND.UNION) && t.name === name && t.members);
    if (!found) throw new Error(`BTF: no struct ${name}`);
    return found;
  }

  /** Byte offset of a member path such as `battr.attr.name` inside `struct NAME` (anonymous unions are searched). */
  offsetOf(structName: string, memberPath: string): number {
    let type = this.struct(structName);
    let offset = 0;
    for (const part of memberPath.split('.')) {
      const hit = this.findMember(type, part);
      if (!hit) throw new Error(`BTF: struct ${structName} has no member ${memberPath}`);
      offset += hit.byteOffset;
      type = this.types[this.resolve(hit.type)];
    }
    return offset;
  }

  sizeOf(structName: string): number {
    return this.struct(structName).sizeOrType;
  }

  private findMember(type: BtfType, name: string): { type: number; byteOffset: number } | undefined {
    for (const m of type.members ?? []) {
      if (m.name === name) return { type: m.type, byteOffset: m.bitOffset / 8 };
      if (m.name === '') {
        const inner = this.findMember(this.types[this.resolve(m.type)], name);
        if (inner) return { type: inner.type, byteOffset: m.bitOffset / 8 + inner.byteOffset };
      }
    }
    return undefined;
  }

  /** Follows typedefs and qualifiers to the underlying type id. */
  private resolve(id: number): number {
    for (let t = this.types[id]; t && [KIND.TYPEDEF, KIND.CONST, KIND.VOLATILE, KIND.RESTRICT, KIND.TYPE_TAG].includes(t.kind as 8); t = this.types[id]) {
      id = t.sizeOrType;
    }
    return id;
  }
}

/** Bytes after the common 12-byte header for kinds whose extra data is skipped. */
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case KIND.INT:
    case KIND.VAR:
    case KIND.DECL_TAG:
      return 4;
    case KIND.ENUM:
    case KIND.FUNC_PROTO:
      return 8 * vlen;
    case KIND.DATASEC:
    case KIND.ENUM64:
      return 12 * vlen;
    default:
      return 0;
  }
}
