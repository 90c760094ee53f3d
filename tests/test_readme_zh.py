"""README.zh-CN.md says what README.md says: the same commands and the same test count."""

from __future__ import annotations

import re

from tests.conftest import ROOT

COMMAND = re.compile(r"`(paraminspect [^`]+)`")
COUNT = re.compile(r"(?:about|约) ([\d,]+)(?: tests| 个测试)")


def _text(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_every_command_of_the_chinese_readme_is_in_the_english_one():
    english, chinese = _text("README.md"), _text("README.zh-CN.md")
    missing = sorted(set(COMMAND.findall(chinese)) - set(COMMAND.findall(english)))
    assert missing == [], f"commands in README.zh-CN.md that README.md does not give: {missing}"


def test_the_quick_start_and_the_test_count_match():
    english, chinese = _text("README.md"), _text("README.zh-CN.md")
    quick = re.compile(r"```bash\n(python3 -m venv[^`]+)```")
    assert quick.search(chinese).group(1) == quick.search(english).group(1)
    assert COUNT.findall(chinese) == COUNT.findall(english) != []


def test_the_chinese_readme_warns_that_in11_to_in13_need_the_steps_before():
    assert "In[11] to In[13] need the steps before them" in _text("README.md")
    assert "In[11] 到 In[13] 需要它们之前的步骤" in _text("README.zh-CN.md")
