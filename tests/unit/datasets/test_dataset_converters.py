"""VOC, labelme and VIA to COCO: boxes and polygons by hand, the result readable by CocoDataset."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmcascade.datasets import CocoDataset
from mmcascade.datasets.converters import labelme_to_coco, via_to_coco, voc_to_coco

from helpers import REPO

VOC_XML = """<annotation><filename>{name}</filename><size><width>64</width><height>48</height><depth>3</depth></size>
<object><name>cat</name><difficult>0</difficult><bndbox><xmin>11</xmin><ymin>6</ymin><xmax>30</xmax><ymax>35</ymax></bndbox></object>
<object><name>dog</name><difficult>1</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>8</ymax></bndbox></object>
</annotation>"""


def image(path, h=48, w=64):
    cv2.imwrite(str(path), np.full((h, w, 3), 120, np.uint8))


def test_voc_boxes_difficult_and_split(tmp_path):
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "ImageSets" / "Main").mkdir(parents=True)
    for stem in ("0001", "0002"):
        (tmp_path / "Annotations" / f"{stem}.xml").write_text(VOC_XML.format(name=f"{stem}.jpg"))
        image(tmp_path / "JPEGImages" / f"{stem}.jpg")
    (tmp_path / "ImageSets" / "Main" / "train.txt").write_text("0002\n")
    coco = voc_to_coco(str(tmp_path), split="train")
    assert [im["file_name"] for im in coco["images"]] == ["0002.jpg"]
    cat, dog = coco["annotations"]
    assert cat["bbox"] == [10.0, 5.0, 20.0, 30.0] and cat["area"] == 600.0 and cat["iscrowd"] == 0
    assert dog["iscrowd"] == 1  # difficult: ignored, as VOC's metric does
    assert coco["categories"] == [dict(id=1, name="cat"), dict(id=2, name="dog")]
    with pytest.raises(ValueError, match="class 'dog' is not one of --classes"):
        voc_to_coco(str(tmp_path), classes=["cat"])


def test_labelme_polygons_and_rectangles(tmp_path):
    image(tmp_path / "a.png")
    shapes = [
        dict(label="leaf", shape_type="polygon", points=[[10, 10], [30, 10], [30, 20], [10, 20]]),
        dict(label="bug", shape_type="rectangle", points=[[40, 30], [35, 5]]),
    ]
    (tmp_path / "a.json").write_text(json.dumps(dict(imagePath="a.png", imageWidth=64, imageHeight=48, shapes=shapes)))
    coco = labelme_to_coco(str(tmp_path), classes=["leaf", "bug"])
    leaf, bug = coco["annotations"]
    assert leaf["bbox"] == [10.0, 10.0, 20.0, 10.0] and leaf["segmentation"] == [[10, 10, 30, 10, 30, 20, 10, 20]]
    assert leaf["area"] == 200.0 and leaf["category_id"] == 1
    assert bug["bbox"] == [35.0, 5.0, 5.0, 25.0] and "segmentation" not in bug and bug["category_id"] == 2
    ds = CocoDataset(
        ann_file=_dump(tmp_path, coco),
        data_prefix=dict(img=str(tmp_path) + "/"),
        metainfo=dict(classes=("leaf", "bug")),
        pipeline=[],
        test_mode=True,
    )
    assert ds.get_data_info(0)["instances"][0]["bbox"] == [10.0, 10.0, 30.0, 20.0]


def test_via_regions_and_sizes_from_the_image(tmp_path):
    image(tmp_path / "x.jpg", h=40, w=50)
    regions = [
        dict(shape_attributes=dict(name="rect", x=5, y=6, width=10, height=12), region_attributes=dict(type="car")),
        dict(
            shape_attributes=dict(name="polygon", all_points_x=[20, 40, 30], all_points_y=[5, 5, 25]),
            region_attributes=dict(type="sign"),
        ),
    ]
    (tmp_path / "via.json").write_text(json.dumps({"x.jpg123": dict(filename="x.jpg", regions=regions)}))
    coco = via_to_coco(str(tmp_path / "via.json"), str(tmp_path))
    assert coco["images"] == [dict(id=1, file_name="x.jpg", width=50, height=40)]
    car, sign = coco["annotations"]
    assert car["bbox"] == [5.0, 6.0, 10.0, 12.0] and sign["bbox"] == [20.0, 5.0, 20.0, 20.0]
    assert [c["name"] for c in coco["categories"]] == ["car", "sign"]


def test_the_command_writes_a_checked_file_and_keeps_an_existing_one(tmp_path):
    image(tmp_path / "a.png")
    shapes = [dict(label="leaf", shape_type="polygon", points=[[10, 10], [30, 10], [20, 25]])]
    (tmp_path / "a.json").write_text(json.dumps(dict(imagePath="a.png", imageWidth=64, imageHeight=48, shapes=shapes)))
    out = tmp_path / "out" / "coco.json"
    cmd = [sys.executable, "-m", "mmcascade", "dataset-to-coco", "labelme", str(tmp_path), str(out)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "1 images, 1 annotations, classes ['leaf']" in proc.stdout
    assert json.load(open(out))["annotations"][0]["category_id"] == 1
    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "exists; pass --overwrite" in again.stderr
    shapes.append(dict(label="leaf", shape_type="polygon", points=[[1, 1], [2, 2]]))
    (tmp_path / "a.json").write_text(json.dumps(dict(imagePath="a.png", imageWidth=64, imageHeight=48, shapes=shapes)))
    bad = subprocess.run([*cmd, "--overwrite"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "a.json shape 1: a 'polygon' shape of 2 points" in bad.stderr


def _dump(tmp_path, coco):
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(coco))
    return str(path)
