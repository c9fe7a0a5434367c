"""Where the console keeps its files: the platform's config, state and data folders."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "opsconsole"
CONFIG_FILE = "config.toml"  # settings, including the `[keys]` table of key bindings


def config_dir() -> Path:
    """Settings and the config file ($XDG_CONFIG_HOME/opsconsole on Linux)."""
    return platformdirs.user_config_path(APP, appauthor=False)


def state_dir() -> Path:
    """Window layouts and other state worth keeping between runs ($XDG_STATE_HOME)."""
    return platformdirs.user_state_path(APP, appauthor=False)


def data_dir() -> Path:
    """Records: the audit log and the timeline database ($XDG_DATA_HOME)."""
    return platformdirs.user_data_path(APP, appauthor=False)
