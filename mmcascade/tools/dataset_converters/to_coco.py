"""Convert a Pascal VOC, labelme or VIA dataset to COCO json.

    mmcascade dataset-to-coco voc VOC_ROOT OUT.json [--split train] [--classes a b]
    mmcascade dataset-to-coco labelme LABELME_DIR OUT.json [--classes a b]
    mmcascade dataset-to-coco via VIA.json OUT.json --image-dir IMAGES [--label-attr name] [--classes a b]

``file_name`` in the output is relative to the image folder (VOC: ``JPEGImages/``; labelme: the
folder of the json files; VIA: ``--image-dir``): use that folder as ``data_prefix.img``. An
existing OUT.json is refused unless ``--overwrite``. The result is checked as the training tools
will read it (``CocoDataset``'s checks) before it is written.
"""

import argparse
import json
import os
import os.path as osp
import tempfile

from mmcascade.datasets.converters import FORMATS, labelme_to_coco, via_to_coco, voc_to_coco


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("format", choices=FORMATS)
    parser.add_argument("source", help="VOC root, labelme folder or VIA json")
    parser.add_argument("out", help="the COCO json to write")
    parser.add_argument("--split", help="VOC: an ImageSets/Main/<split>.txt list")
    parser.add_argument("--image-dir", help="VIA: the folder of the images")
    parser.add_argument("--label-attr", help="VIA: the region attribute holding the class")
    parser.add_argument("--classes", nargs="+", help="class names in this order (default: every name found, sorted)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    args = parser.parse_args(argv)
    if osp.exists(args.out) and not args.overwrite:
        parser.error(f"{args.out} exists; pass --overwrite to replace it")
    try:
        if args.format == "voc":
            coco, images = voc_to_coco(args.source, args.split, args.classes), osp.join(args.source, "JPEGImages")
        elif args.format == "labelme":
            coco, images = labelme_to_coco(args.source, args.classes), args.source
        else:
            if not args.image_dir:
                parser.error("via needs --image-dir, the folder of the images")
            coco, images = via_to_coco(args.source, args.image_dir, args.label_attr, args.classes), args.image_dir
    except ValueError as exc:
        parser.exit(2, f"dataset-to-coco: {exc}\n")
    _check(coco, images)
    folder = osp.dirname(osp.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp", delete=False) as f:
        json.dump(coco, f)
    os.replace(f.name, args.out)
    names = [c["name"] for c in coco["categories"]]
    print(f"wrote {args.out}: {len(coco['images'])} images, {len(coco['annotations'])} annotations, classes {names}")
    print(f"use data_prefix=dict(img='{images}/') and metainfo=dict(classes={tuple(names)})")
    return coco


def _check(coco: dict, images: str) -> None:
    """Build a CocoDataset on the result, so that a problem shows now, naming the record."""
    from mmcascade.datasets import CocoDataset

    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, "check.json")
        with open(path, "w") as f:
            json.dump(coco, f)
        names = tuple(c["name"] for c in coco["categories"])
        CocoDataset(
            ann_file=path, data_prefix=dict(img=images + "/"), metainfo=dict(classes=names), pipeline=[], test_mode=True
        )


if __name__ == "__main__":
    main()
