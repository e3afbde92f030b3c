"""Tile the newest pictures under a folder into one PNG: ``tile_images.py DIR --out F``.

Entry point: the code is ``mmcascade.tools.misc.tile_images``."""

from mmcascade.tools.misc.tile_images import main

if __name__ == "__main__":
    main()
