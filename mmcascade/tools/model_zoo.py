"""The model zoo from the command line.

    python tools/model_zoo.py list [--backbone R-50] [--task detection] [--schedule 1x|20e|3x|s1x]
        [--source openmmlab-v2.0|openmmlab-v2.0-ms3x|detectron-cascade]
    python tools/model_zoo.py show NAME
    python tools/model_zoo.py download NAME [--dest DIR] [--config] [--log] [--offline]
    python tools/model_zoo.py readme [--check]

Downloads go to the cache (``$MMCASCADE_CACHE``, default ``~/.cache/mmcascade``), are verified
(byte count; sha256 against the hash in the file name) and only then renamed into place; an
interrupted download resumes on the next call. ``$MMCASCADE_MIRROR`` replaces the host.
"""

import argparse
import sys
from pathlib import Path

from mmcascade.zoo import DownloadError, ManifestError, filter_entries, get_entry, load_manifest
from mmcascade.zoo.download import copy_to
from mmcascade.zoo.fetch import checkpoint_of, log_of
from mmcascade.zoo.manifest import DEFAULT_MANIFEST, TASKS
from mmcascade.zoo.tables import SOURCES, list_table, readme_markdown, show_text

README = DEFAULT_MANIFEST.parent / "README.md"
SCHEDULES = ("1x", "20e", "3x", "s1x")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="List, show and download model-zoo checkpoints")
    parser.add_argument("--manifest", help="manifest file (default $MMCASCADE_MANIFEST or model_zoo/manifest.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="table of the models")
    ls.add_argument("--backbone", help="substring of the backbone, e.g. R-50, X-101")
    ls.add_argument("--task", choices=TASKS)
    ls.add_argument("--schedule", choices=SCHEDULES, help="training schedule")
    ls.add_argument("--source", choices=tuple(SOURCES), help="the published table the row comes from")
    show = sub.add_parser("show", help="every field of one model")
    show.add_argument("name")
    dl = sub.add_parser("download", help="download and verify a checkpoint")
    dl.add_argument("name")
    dl.add_argument("--dest", help="also place the files in this folder")
    dl.add_argument("--config", action="store_true", help="write the full (resolved) config to --dest too")
    dl.add_argument("--log", action="store_true", help="download the published training log too")
    dl.add_argument("--offline", action="store_true", default=None, help="use only the cache")
    dl.add_argument("--allow-http", action="store_true", help="allow plain http to remote hosts")
    dl.add_argument("--mirror", help="base URL replacing the published host")
    dl.add_argument(
        "--accept-link-note",
        action="store_true",
        help="download a row's link even when the manifest says it is another model",
    )
    dl.add_argument("--no-progress", action="store_true")
    rd = sub.add_parser(
        "readme",
        help="regenerate model_zoo/README.md, model-index.yml and the configs' metafile.yml files from the manifest",
    )
    rd.add_argument("--check", action="store_true", help="only check that it is up to date")
    return parser.parse_args(argv)


def _download(args: argparse.Namespace, manifest: dict) -> list[Path]:
    entry = get_entry(args.name, manifest)
    kwargs = dict(offline=args.offline, allow_http=args.allow_http, progress=not args.no_progress, mirror=args.mirror)
    files = [checkpoint_of(entry, accept_link_note=args.accept_link_note, **kwargs)]
    if args.log:
        files.append(log_of(entry, **kwargs))
    if args.dest:
        files = [copy_to(f, Path(args.dest)) for f in files]
        if args.config:
            from mmengine.config import Config

            target = Path(args.dest) / f"{entry.name}.py"
            Config.fromfile(str(entry.config_path)).dump(str(target))
            files.append(target)
    return files


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        manifest = load_manifest(args.manifest)
        if args.command == "list":
            rows = filter_entries(manifest, args.backbone, args.task, args.schedule, args.source)
            print(list_table(rows))
        elif args.command == "show":
            print(show_text(get_entry(args.name, manifest)))
        elif args.command == "download":
            for path in _download(args, manifest):
                print(path)
        else:
            from mmcascade.zoo.mim_meta import metafiles

            files = {README: readme_markdown(list(manifest.values()))}
            files.update({README.parents[1] / rel: text for rel, text in metafiles(list(manifest.values())).items()})
            stale = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
            if args.check:
                for path in stale:
                    print(f"{path} is out of date: run python tools/model_zoo.py readme", file=sys.stderr)
                return 1 if stale else 0
            for path in stale:
                path.write_text(files[path], encoding="utf-8")
                print(f"wrote {path}")
    except (ManifestError, DownloadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
