"""Dataset converters: other annotation formats to COCO json (``mmcascade dataset-to-coco``)."""
