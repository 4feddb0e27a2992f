"""write DS: what a task writing as root leaves in /data, in the modes that make it hard to undo.

/data/out/DS/result.txt   (a folder of root's: nobody else may delete in it)
/data/out/DS/private/     (0700, with a 0600 file: nobody else may read it)
/data/out/DS/sealed/      (0555, with a file: not even its owner may delete in it without chmod)
Prints the uid it ran as, as its last line (the XCom).
"""

import os
import sys
from pathlib import Path


def write(ds: str, root: Path) -> None:
    day = root / "out" / ds
    day.mkdir(parents=True, exist_ok=True)
    (day / "result.txt").write_text(f"{ds}\n")
    private = day / "private"
    private.mkdir(mode=0o700, exist_ok=True)
    secret = private / "secret.txt"
    secret.write_text(f"{ds}\n")
    secret.chmod(0o600)
    sealed = day / "sealed"
    sealed.mkdir(exist_ok=True)
    (sealed / "kept.txt").write_text(f"{ds}\n")
    sealed.chmod(0o555)


if __name__ == "__main__":
    write(sys.argv[1], Path("/data"))
    print(os.getuid())
