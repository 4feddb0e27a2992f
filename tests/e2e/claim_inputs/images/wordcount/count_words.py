"""count_words.py IN OUT: the words of every ``*.txt`` under IN (at any depth), as JSON in OUT.

OUT: {"files": [paths relative to IN, sorted], "words": {word: count}}, where a word is a
whitespace-separated token, lower-cased. A missing IN is an error: the inputs never arrived.
"""

import json
import sys
from collections import Counter
from pathlib import Path


def count(folder: Path) -> dict:
    files = sorted(p for p in folder.rglob("*.txt") if p.is_file())
    words = Counter(word.lower() for path in files for word in path.read_text().split())
    return {"files": [p.relative_to(folder).as_posix() for p in files], "words": dict(words)}


def main() -> int:
    folder, out = Path(sys.argv[1]), Path(sys.argv[2])
    if not folder.is_dir():
        print(f"count_words: no input folder {folder}", file=sys.stderr)
        return 2
    result = count(folder)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, sort_keys=True))
    print(f"count_words: {len(result['files'])} file(s), {sum(result['words'].values())} word(s) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
