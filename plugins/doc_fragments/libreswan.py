# -*- coding: utf-8 -*-
# Copyright: contributors to the ipsec.libreswan collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options shared by every module that talks to pluto."""

    DOCUMENTATION = r"""
options:
  config:
    description:
      - Path of the main Libreswan configuration file, as for C(ipsec auto --config) and
        C(ipsec addconn --config).
      - Files it includes are read too. Relative C(include) paths are resolved against the
        current working directory, as C(ipsec addconn) does.
    type: path
    default: /etc/ipsec.conf
  ctlsocket:
    description:
      - Path of pluto's control socket, as for C(ipsec whack --ctlsocket).
    type: path
    default: /run/pluto/pluto.ctl
requirements:
  - Libreswan 3.25 or later with a running pluto on the managed host.
  - Only Python's standard library on the managed host.
"""

    # Descriptions of the attributes that every module documents. Each module states its support.
    ATTRIBUTES = r"""
attributes:
  idempotent:
    description:
      - When run twice in a row outside check mode with the same parameters, the second run
        reports no change, provided nothing else changed the managed host in between.
"""
