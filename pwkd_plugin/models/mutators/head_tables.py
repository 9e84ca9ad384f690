"""Tables of one column per attention head, as constants to the tracer.

An attention with a learned relative position bias (BEiT's) reads a table
of one column per head at an index buffer and adds it to the attention's
logits. torch.fx reads both as ``get_attr`` nodes, which mmrazor's graph
gives three channels of an input of their own: the addition binds them to
the logits and the attention's heads are lost to the tracer. The table's
columns are heads, not channels of any tensor: the attention's dynamic op
reads its active heads' columns (``head_tables`` names the table and the
buffers it is read by; torch.fx reads a buffer as a tensor constant of the
graph's own), so here the nodes computed from them alone are constants,
as a tensor built from sizes (:mod:`.shape_constants`), and adding them
binds nothing.
"""
from typing import List

import torch.fx as fx
import torch.nn as nn


def head_table_nodes(model: nn.Module, graph: fx.Graph) -> List[fx.Node]:
    """The ``get_attr`` nodes of ``graph`` that read a parameter its module
    names in ``head_tables``, and the tensor constants (buffers read as
    such) it is read with."""
    found = []
    for node in graph.nodes:
        if node.op != 'get_attr':
            continue
        owner_name, _, attr = node.target.rpartition('.')
        owner = model.get_submodule(owner_name)
        if attr in getattr(owner, 'head_tables', ()):
            found.append(node)
    for node in list(found):
        found.extend(arg for user in node.users
                     for arg in user.all_input_nodes
                     if arg.op == 'get_attr' and '.' not in arg.target
                     and arg not in found)
    return found
