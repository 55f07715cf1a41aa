"""Prove that a Linux binary is fully static (packaging.md §6): no loader, no shared libraries.

Reads the ELF file itself, so the answer does not depend on `file`, `ldd` or `readelf` being
installed, nor on the host's loader (ldd runs the binary's loader, which a hostile or foreign
binary makes unreliable):

* no `PT_INTERP` program header: the kernel starts the binary without `ld-linux`;
* no `DT_NEEDED` entry in the dynamic section: it asks for no shared library. A static-pie
  executable keeps a dynamic section for its own relocations, so its presence alone is fine;
* no glibc NSS loader: a static glibc binary that calls `getpwnam`, `getaddrinfo` and friends
  carries the code that `dlopen`s `libnss_*.so` at run time, and would fail in an empty root.

Only ELF64 little-endian for x86_64 and aarch64 is understood, the two Linux targets heso ships
statically; anything else exits 2 rather than passing unchecked.

Usage: `python scripts/check_static.py BINARY`; exits 0 when static, 1 when not, 2 when the file
cannot be checked.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1
MACHINES = {62: "x86_64", 183: "aarch64"}
# ET_EXEC is a classic static executable, ET_DYN a (static-)pie one.
FILE_TYPES = {2: "executable", 3: "position-independent executable"}

# Elf64_Ehdr after e_ident; Elf64_Phdr; Elf64_Shdr; Elf64_Dyn.
HEADER = struct.Struct("<HHIQQQIHHHHHH")
PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")
SECTION_HEADER = struct.Struct("<IIQQQQIIQQ")
DYNAMIC_ENTRY = struct.Struct("<qQ")
IDENT_SIZE = 16

PT_LOAD = 1
PT_DYNAMIC = 2
PT_INTERP = 3
# e_phnum's escape value: the real count is in section header 0's sh_info.
PN_XNUM = 0xFFFF
DT_NULL = 0
DT_NEEDED = 1
DT_STRTAB = 5


class UncheckableError(Exception):
    """The file is not an ELF binary this script understands; nothing was proven."""


@dataclass(frozen=True)
class Segment:
    kind: int
    offset: int
    address: int
    file_size: int


@dataclass(frozen=True)
class Findings:
    machine: str
    file_type: str
    program_headers: int
    dynamic_entries: int
    interpreter: str | None
    needed: tuple[str, ...]
    nss: bool


def unpack(layout: struct.Struct, data: bytes, offset: int) -> tuple[int, ...]:
    if offset < 0 or offset + layout.size > len(data):
        msg = f"truncated ELF file: {layout.size} bytes at offset {offset} lie past its end"
        raise UncheckableError(msg)
    return tuple(int(value) for value in layout.unpack_from(data, offset))


def c_string(data: bytes, offset: int) -> str:
    end = data.find(b"\0", offset)
    if offset >= len(data) or end < 0:
        msg = f"truncated ELF file: unterminated string at offset {offset}"
        raise UncheckableError(msg)
    return data[offset:end].decode("utf-8", errors="replace")


def file_offset(segments: list[Segment], address: int) -> int | None:
    """The file offset of virtual `address`, through the PT_LOAD segment that maps it."""
    for segment in segments:
        if segment.kind == PT_LOAD and 0 <= address - segment.address < segment.file_size:
            return segment.offset + address - segment.address
    return None


def program_header_count(data: bytes, count: int, section_offset: int) -> int:
    if count != PN_XNUM:
        return count
    # sh_info is the eighth field of Elf64_Shdr.
    return unpack(SECTION_HEADER, data, section_offset)[7]


def read_segments(data: bytes) -> tuple[str, str, list[Segment]]:
    """The machine, the file type and the program headers, refusing files not understood."""
    if data[:4] != ELF_MAGIC:
        msg = "not an ELF file"
        raise UncheckableError(msg)
    if len(data) < IDENT_SIZE or data[4] != ELFCLASS64 or data[5] != ELFDATA2LSB:
        msg = "not a 64-bit little-endian ELF file; only x86_64 and aarch64 are understood"
        raise UncheckableError(msg)
    (e_type, e_machine, _, _, e_phoff, e_shoff, _, _, e_phentsize, e_phnum, *_) = unpack(
        HEADER, data, IDENT_SIZE
    )
    if e_machine not in MACHINES:
        msg = f"ELF machine {e_machine} is not understood; only x86_64 and aarch64 are"
        raise UncheckableError(msg)
    if e_type not in FILE_TYPES:
        msg = f"ELF type {e_type} is not an executable"
        raise UncheckableError(msg)
    if e_phentsize != PROGRAM_HEADER.size:
        msg = f"program headers of {e_phentsize} bytes; ELF64 uses {PROGRAM_HEADER.size}"
        raise UncheckableError(msg)
    segments = []
    for index in range(program_header_count(data, e_phnum, e_shoff)):
        kind, _, offset, address, _, file_size, _, _ = unpack(
            PROGRAM_HEADER, data, e_phoff + index * e_phentsize
        )
        segments.append(Segment(kind, offset, address, file_size))
    return MACHINES[e_machine], FILE_TYPES[e_type], segments


def read_dynamic(data: bytes, segments: list[Segment]) -> list[tuple[int, int]]:
    """The (tag, value) entries of every PT_DYNAMIC segment, up to each one's DT_NULL."""
    entries = []
    for segment in segments:
        if segment.kind != PT_DYNAMIC:
            continue
        end = segment.offset + segment.file_size
        for offset in range(segment.offset, end, DYNAMIC_ENTRY.size):
            tag, value = unpack(DYNAMIC_ENTRY, data, offset)
            if tag == DT_NULL:
                break
            entries.append((tag, value))
    return entries


def needed_libraries(
    data: bytes, segments: list[Segment], entries: list[tuple[int, int]]
) -> tuple[str, ...]:
    # DT_NEEDED values index the string table, which DT_STRTAB gives as a virtual address.
    strtab = next((value for tag, value in entries if tag == DT_STRTAB), None)
    strtab_offset = None if strtab is None else file_offset(segments, strtab)
    return tuple(
        f"<string {value}>" if strtab_offset is None else c_string(data, strtab_offset + value)
        for tag, value in entries
        if tag == DT_NEEDED
    )


def inspect(data: bytes) -> Findings:
    machine, file_type, segments = read_segments(data)
    interpreters = [c_string(data, s.offset) for s in segments if s.kind == PT_INTERP]
    entries = read_dynamic(data, segments)
    return Findings(
        machine=machine,
        file_type=file_type,
        program_headers=len(segments),
        dynamic_entries=len(entries),
        interpreter=interpreters[0] if interpreters else None,
        needed=needed_libraries(data, segments, entries),
        # glibc names the modules it loads `libnss_<service>.so.<n>`: the prefix is in the binary
        # exactly when its NSS loader was linked in.
        nss=b"libnss_" in data,
    )


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: check_static.py BINARY", file=sys.stderr)
        return 2
    binary = Path(argv[0])
    try:
        findings = inspect(binary.read_bytes())
    except (OSError, UncheckableError) as error:
        print(f"check_static: error: cannot check `{binary}`: {error}", file=sys.stderr)
        return 2

    problems = []
    if findings.interpreter is not None:
        problems.append(f"a loader (`PT_INTERP` `{findings.interpreter}`)")
    if findings.needed:
        libraries = ", ".join(f"`{name}`" for name in findings.needed)
        problems.append(f"shared libraries (`DT_NEEDED` {libraries})")
    if findings.nss:
        problems.append("glibc's NSS modules (`libnss_*`: a user, group or host lookup)")
    if problems:
        fix = (
            "build it with `RUSTFLAGS='-C target-feature=+crt-static'` and an explicit `--target`"
            if findings.interpreter is not None or findings.needed
            else "take paths from arguments and HESO_* variables, never from the passwd or "
            "hosts databases (packaging.md §6)"
        )
        print(
            f"check_static: error: `{binary}` needs {' and '.join(problems)}; {fix}",
            file=sys.stderr,
        )
        return 1
    print(
        f"check_static: `{binary}` is static: ELF64 little-endian {findings.machine} "
        f"{findings.file_type}; {findings.program_headers} program headers, none `PT_INTERP`; "
        f"{findings.dynamic_entries} dynamic entries, none `DT_NEEDED`; no NSS loader"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
