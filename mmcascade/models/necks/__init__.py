from .fpn import FPN
from .hrfpn import HRFPN
from .pafpn import PAFPN

__all__ = ["FPN", "HRFPN", "PAFPN"]
