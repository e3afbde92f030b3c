"""Print a config with every ``_base_`` merged, ``--cfg-options`` applied and checked, as the tools
will run it (``mmcascade print-config CONFIG [--cfg-options k=v ...] [--save-path FULL.py]``)."""

import argparse

from mmcascade.config.checks import check_config_types
from mmcascade.config.loading import load_tool_config
from mmcascade.tools.common import CfgOptionsAction
from mmcascade.utils import register_all_modules


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config", help="a config file, a shipped config's name or a model-zoo name")
    parser.add_argument("--cfg-options", nargs="+", action=CfgOptionsAction, help="override settings, key=value")
    parser.add_argument("--save-path", help="also write the full config to this .py file")
    args = parser.parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = load_tool_config(args.config, args.cfg_options)
    check_config_types(cfg)
    text = cfg.pretty_text
    print(text)
    if args.save_path:
        cfg.dump(args.save_path)
        print(f"saved {args.save_path}")
    return text


if __name__ == "__main__":
    main()
