from collections.abc import Sequence
from typing import Any

def convert_variables_to_constants(
    sess: Any, input_graph_def: Any, output_node_names: Sequence[str]
) -> Any: ...
