#!/usr/bin/env python3
"""Keeps the C++ in the documentation cut from compiled examples.

Every ```cpp block in README.md, docs/*.md and benchmarks/README.md must follow a
marker line naming its source, a region of an example between two `//! [name]`
lines (Doxygen's snippet markers):

    <!-- snippet: examples/02_publish.cpp#publish -->
    ```cpp
    ...
    ```

`snippets.py` rewrites each block from its region (dedented); `snippets.py --check`
changes nothing and fails, naming the block, if one differs from its region, names
a missing file or region, or has no marker. CI runs the check: the examples are
built and run there, so the documentation's code compiles and works.
"""
import pathlib
import re
import sys
import textwrap

root = pathlib.Path(__file__).resolve().parent.parent
marker = re.compile(r"^<!-- snippet: (?P<file>[^#\s]+)#(?P<region>[\w-]+) -->$")


def region(file: str, name: str) -> str:
    path = root / file
    if not path.is_file():
        raise LookupError(f"{file} does not exist")
    lines = path.read_text().splitlines()
    tag = f"//! [{name}]"
    at = [i for i, line in enumerate(lines) if line.strip() == tag]
    if len(at) != 2:
        raise LookupError(f"{file} has {len(at)} '{tag}' lines, not 2")
    inner = [line for line in lines[at[0] + 1 : at[1]] if not line.strip().startswith("//! [")]  # nested regions
    return textwrap.dedent("\n".join(inner)).strip("\n")


def process(doc: pathlib.Path, check: bool) -> list[str]:
    problems = []
    lines = doc.read_text().splitlines()
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        if line.strip() != "```cpp":
            i += 1
            continue
        where = f"{doc.relative_to(root)}:{i + 1}"
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
        if end is None:
            problems.append(f"{where}: a ```cpp block that never ends")
            break
        found = marker.match(lines[i - 1].strip()) if i > 0 else None
        body = "\n".join(lines[i + 1 : end])
        if not found:
            problems.append(f"{where}: a ```cpp block without a '<!-- snippet: FILE#REGION -->' line before it")
            out.extend(lines[i + 1 : end + 1])
        else:
            try:
                wanted = region(found["file"], found["region"])
            except LookupError as e:
                problems.append(f"{where}: {e}")
                wanted = body
            if wanted != body and check:
                problems.append(f"{where}: differs from {found['file']}#{found['region']} (run scripts/snippets.py)")
            out.extend(wanted.splitlines())
            out.append(lines[end])
        i = end + 1
    if not check:
        doc.write_text("\n".join(out) + "\n")
    return problems


def main() -> int:
    check = "--check" in sys.argv[1:]
    docs = [root / "README.md", root / "benchmarks" / "README.md", *sorted((root / "docs").glob("*.md"))]
    problems = [p for doc in docs if doc.exists() for p in process(doc, check)]
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
