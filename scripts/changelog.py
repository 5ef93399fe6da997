"""metadata.txt's changelog field, generated from CHANGELOG.md.

Usage: ``python3 scripts/changelog.py --write metadata.txt`` (rewrite the field),
``--check metadata.txt`` (exit 1 when the field or the version differs from CHANGELOG.md).
"""
import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CHANGELOG = os.path.join(HERE, "..", "CHANGELOG.md")


def versions(markdown: str):
    """[(version, [item, ...]), ...] from '## version' headings and '- item' lines, in file order."""
    found = []
    for line in markdown.splitlines():
        heading = re.match(r"##\s+(\S+)", line)
        if heading:
            found.append((heading.group(1), []))
        elif line.startswith("- ") and found:
            found[-1][1].append(line[2:].strip())
    if not found:
        raise ValueError("CHANGELOG.md has no '## <version>' section")
    return found


def changelog_field(markdown: str) -> str:
    """The metadata entry: 'changelog=' then one indented line per version and per item."""
    lines = ["changelog="]
    for version, items in versions(markdown):
        lines.append(f"    {version}")
        lines += [f"    - {item}" for item in items]
    return "\n".join(lines)


def replace_field(metadata: str, field: str) -> str:
    """``metadata`` with its changelog entry (and continuation lines) replaced by ``field``."""
    pattern = re.compile(r"^changelog=.*(?:\n[ \t]+.*)*", re.MULTILINE)
    if not pattern.search(metadata):
        return metadata.rstrip("\n") + "\n" + field + "\n"
    return pattern.sub(lambda _: field, metadata, count=1)


def metadata_version(metadata: str) -> str:
    """The version= value of metadata.txt."""
    match = re.search(r"^version=(.*)$", metadata, re.MULTILINE)
    return match.group(1).strip() if match else ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", metavar="METADATA")
    action.add_argument("--check", metavar="METADATA")
    args = parser.parse_args(argv)
    with open(CHANGELOG, encoding="utf-8") as handle:
        markdown = handle.read()
    path = args.write or args.check
    with open(path, encoding="utf-8") as handle:
        metadata = handle.read()
    wanted = replace_field(metadata, changelog_field(markdown))
    latest = versions(markdown)[0][0]
    if metadata_version(metadata) != latest:
        sys.stderr.write(f"metadata.txt version {metadata_version(metadata)} is not CHANGELOG.md's latest {latest}\n")
        return 1
    if args.write:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(wanted)
        return 0
    if wanted != metadata:
        sys.stderr.write(f"{path}: the changelog field differs from CHANGELOG.md (run --write)\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
