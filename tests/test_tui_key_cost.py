"""What a key press in the branch screen costs, counted in layouts and frames — never by the clock
(the timings are ``bench/tui_bench.py --terminal --only keys``).

A layout of the whole screen is Textual's most expensive step; the branch screen asked for two per
key (fields whose text changed length, an item's prompt of another height, texts whose size the
layout had just set) and drew each key in two frames (the highlight first, the item's details one
message later).
"""

from __future__ import annotations

import asyncio

import pytest
from test_app_startup_cost import _until
from textual import _compositor
from textual.app import App, ComposeResult
from textual.screen import Screen

from inspect_tui.tui.app import make_app
from inspect_tui.tui.screens.branch.observe import ObservePane
from inspect_tui.tui.widgets.fields import FieldInput
from inspect_tui.tui.widgets.follow import FollowList
from inspect_tui.tui.widgets.steady import SteadyStatic


@pytest.fixture
def layouts(monkeypatch) -> list[int]:
    """One entry per layout of a whole screen."""
    calls: list[int] = []
    real = _compositor.Compositor.reflow

    def counting(self, parent, size):
        calls.append(1)
        return real(self, parent, size)

    monkeypatch.setattr(_compositor.Compositor, "reflow", counting)
    return calls


@pytest.fixture
def frames(monkeypatch) -> list[int]:
    """One entry per frame drawn (a screen update that found something to draw)."""
    calls: list[int] = []
    real = Screen._compositor_refresh

    def counting(self):
        if self._compositor._dirty_regions:
            calls.append(1)
        return real(self)

    monkeypatch.setattr(Screen, "_compositor_refresh", counting)
    return calls


async def _open_look(pilot, app) -> None:
    await _until(pilot, app, "BranchesScreen")
    await pilot.press("enter")
    await _until(pilot, app, "BranchScreen")
    await pilot.press("f3")
    await pilot.pause()


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield FieldInput("短", id="field")
        yield SteadyStatic("一行", id="text")


def test_a_field_showing_another_value_and_a_text_of_the_same_height_lay_out_nothing(layouts):
    async def go() -> None:
        app = Host()
        async with app.run_test(size=(60, 10)) as pilot:
            await pilot.pause()
            layouts.clear()
            app.query_one(FieldInput).load("一个长得多的已保存的值，比原来的长很多很多")
            app.query_one(SteadyStatic).show("另一行")
            await pilot.pause()
            await pilot.pause()
            assert layouts == []
            assert app.query_one(FieldInput).value == "一个长得多的已保存的值，比原来的长很多很多"
            assert "另一行" in str(app.query_one(SteadyStatic).render())
            app.query_one(SteadyStatic).show("第一行\n第二行")  # taller: the screen is laid out, once
            await pilot.pause()
            await pilot.pause()
            assert len(layouts) == 1
            assert app.query_one(SteadyStatic).size.height == 2

    asyncio.run(go())


def test_moving_in_look_shows_the_item_in_the_same_frame_and_lays_out_nothing(fresh, tmp_path, layouts, frames):
    path, _ = fresh

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await _open_look(pilot, app)
            pane = app.screen.query_one("#look", ObservePane)
            items = pane.query_one(FollowList)
            second = items.get_option_at_index(1).id
            items.action_cursor_down()
            assert pane.item_id == second  # the details follow at once, not one message later
            await pilot.pause()
            layouts.clear()
            frames.clear()
            keys = ["down"] * 8 + ["up"] * 8  # items whose prompts take one, two or three lines
            for key in keys:
                await pilot.press(key)
                await pilot.pause()
            assert layouts == []  # the item's heading and prompt keep the step's tallest height here
            assert len(frames) <= len(keys)
            await pilot.press("ctrl+q")

    asyncio.run(go())


def test_the_list_s_status_line_catches_up_with_a_save_made_in_a_branch(fresh, tmp_path):
    path, _ = fresh

    async def go() -> None:
        app = make_app(path, sessions_dir=tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, app, "BranchesScreen")
            listing = app.screen
            assert "本次尚未保存" in str(listing.status_line.render())
            await _open_look(pilot, app)
            await pilot.press("y")
            await pilot.pause()
            assert "已保存" in str(app.screen.status_line.render())
            await pilot.press("escape")
            await _until(pilot, app, "BranchesScreen")
            assert app.screen is listing
            await pilot.pause()
            lines = [str(line.text) for line in listing.status_line.render_lines(listing.status_line.size.region)]
            assert any("已保存" in line for line in lines)
            await pilot.press("ctrl+q")

    asyncio.run(go())
