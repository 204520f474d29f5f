"""A virtual X server (Xvfb) and what a user does to a window on it: find it by title, look at it, press a
key in it, close it. Through python-xlib (a dev dependency), so nothing here needs a window manager."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import numpy as np

SCREEN = "1280x800x24"


class VirtualDisplay:
    def __init__(self):
        if shutil.which("Xvfb") is None:
            raise FileNotFoundError("Xvfb is not installed (Debian/Ubuntu: apt install xvfb)")
        read, write = os.pipe()
        # -displayfd: Xvfb picks a free display number and writes it once it accepts connections.
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", SCREEN, "-nolisten", "tcp"],
            pass_fds=(write,),
            stderr=subprocess.DEVNULL,
        )
        os.close(write)
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number:
            self.process.kill()
            raise RuntimeError("Xvfb exited before it opened a display")
        self.name = f":{number}"

        from Xlib import display

        self.connection = display.Display(self.name)

    def find_window(self, title: str, timeout: float) -> Window:
        """The first window whose title contains `title`, waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self._search(self.connection.screen().root, title)
            if found is not None:
                return Window(self.connection, found)
            time.sleep(0.5)
        raise TimeoutError(f"no window titled '*{title}*' appeared within {timeout:.0f} s")

    def _search(self, window, title: str):
        name = window.get_wm_name()
        if name and title in str(name) and window.get_attributes().map_state == 2:  # IsViewable
            return window
        for child in window.query_tree().children:
            found = self._search(child, title)
            if found is not None:
                return found
        return None

    def close(self) -> None:
        self.connection.close()
        self.process.terminate()
        self.process.wait(timeout=10)


class Window:
    def __init__(self, connection, window):
        self.connection, self.window = connection, window

    @property
    def title(self) -> str:
        return str(self.window.get_wm_name())

    def screenshot(self) -> np.ndarray:
        """The window's pixels as an (height, width, 3) uint8 RGB array."""
        from Xlib import X

        geometry = self.window.get_geometry()
        raw = self.window.get_image(0, 0, geometry.width, geometry.height, X.ZPixmap, 0xFFFFFFFF)
        pixels = np.frombuffer(raw.data, np.uint8).reshape(geometry.height, geometry.width, 4)
        return pixels[..., [2, 1, 0]].copy()  # the server's 32-bit pixels are BGRX

    def press(self, key: str) -> None:
        """Focus the window and press and release `key` (an X keysym name: "Up", "space", "BackSpace")."""
        from Xlib import XK, X
        from Xlib.ext import xtest

        self.window.set_input_focus(X.RevertToParent, X.CurrentTime)
        code = self.connection.keysym_to_keycode(XK.string_to_keysym(key))
        xtest.fake_input(self.connection, X.KeyPress, code)
        xtest.fake_input(self.connection, X.KeyRelease, code)
        self.connection.sync()

    def close(self) -> None:
        """What a window manager's close button does: ask the program to close the window."""
        from Xlib import X
        from Xlib.protocol import event

        protocols = self.connection.intern_atom("WM_PROTOCOLS")
        delete = self.connection.intern_atom("WM_DELETE_WINDOW")
        data = (32, [delete, X.CurrentTime, 0, 0, 0])
        message = event.ClientMessage(window=self.window, client_type=protocols, data=data)
        self.window.send_event(message, event_mask=X.NoEventMask)
        self.connection.sync()
