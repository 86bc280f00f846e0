"""Every `nn` example in docs/language.md compiles, and says what the page says."""
import re

import pytest

import nnspec

from conftest import ROOT

PAGE = (ROOT / "docs" / "language.md").read_text()
EXAMPLES = re.findall(r"```nn\n(.*?)```", PAGE, flags=re.S)


def test_the_page_has_examples():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("text", EXAMPLES, ids=[f"example{i + 1}" for i in range(len(EXAMPLES))])
def test_every_example_compiles(text):
    model = nnspec.compile(text)
    assert model.graph.output_shape


def test_the_three_chain_spellings_are_one_network():
    a, b, c = (nnspec.compile(t).network.nodes for t in EXAMPLES[1:4])
    assert a == b == c


def test_block_instance_names_are_as_documented():
    block_example = next(t for t in EXAMPLES if "block residual" in t)
    names = [n.name for n in nnspec.compile(block_example).network.nodes]
    assert {"residual1/conv1", "r2/add1", "head1/dense2"} <= set(names)
    assert "residual1/conv1.W" in nnspec.compile(block_example).weights
