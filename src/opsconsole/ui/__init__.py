"""The Qt views: main window, docked panels, theme. The only package importing Qt."""
