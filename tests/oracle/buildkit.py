"""Dump BuildKit's parse of Dockerfiles as JSON lines, for the differential test.

Uses PyPI `dockerfile==3.4.0` (BuildKit v0.12.5's parser compiled in). Reads file paths,
one per line, on stdin; writes one JSON object per file on stdout, in the same order.
"""
import json
import sys

import dockerfile


def main() -> None:
    for path in sys.stdin.read().splitlines():
        try:
            cmds = dockerfile.parse_file(path)
        except dockerfile.GoParseError as e:
            print(json.dumps({"file": path, "error": str(e)}))
            continue
        except dockerfile.GoIOError as e:
            print(json.dumps({"file": path, "error": "io: " + str(e)}))
            continue
        print(
            json.dumps(
                {
                    "file": path,
                    "commands": [
                        {
                            "cmd": c.cmd,
                            "sub_cmd": c.sub_cmd,
                            "json": c.json,
                            "start_line": c.start_line,
                            "end_line": c.end_line,
                            "flags": list(c.flags),
                            "value": list(c.value),
                            "heredocs": [
                                {"name": h.name, "fd": h.file_descriptor, "content": h.content}
                                for h in c.heredocs
                            ],
                        }
                        for c in cmds
                    ],
                }
            )
        )


if __name__ == "__main__":
    main()
