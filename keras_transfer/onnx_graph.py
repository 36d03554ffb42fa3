"""ONNX graph rewrites applied at export: what onnxruntime runs faster."""


def einsum_to_matmul(file):
    """Rewrite the graph's attention `Einsum` nodes (keras-hub's `EinsumDense`
    projections and attention products) as `MatMul`, `Reshape` and `Transpose`:
    onnxruntime fuses those (bias, GELU, layer norm) and runs them faster
    than its generic `Einsum`. Other equations are left as they are.

    Example:
    >>> einsum_to_matmul("exported/model.onnx")  # doctest: +SKIP
    """
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(file)
    graph = model.graph
    weights = {w.name: w for w in graph.initializer}
    nodes, added = [], []

    def constant(value, stem):
        added.append(numpy_helper.from_array(np.asarray(value), f"{stem}_{len(added)}"))
        return added[-1].name

    def node(op, inputs, output=None, **attributes):
        output = output or f"kt_einsum_{op.lower()}_{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    for einsum in graph.node:
        equation = (
            helper.get_attribute_value(einsum.attribute[0]).decode()
            if einsum.op_type == "Einsum"
            else None
        )
        x, y, out = (list(einsum.input) + [None])[:2] + [einsum.output[0]]
        if equation in ("abc,cde->abde", "abcd,cde->abe") and y in weights:
            w = numpy_helper.to_array(weights[y])
            c, d, e = w.shape
            if equation == "abc,cde->abde":  # [batch, length, hidden] -> heads
                product = node("MatMul", [x, constant(w.reshape(c, d * e), "kt_w")])
                node(
                    "Reshape", [product, constant(np.array([0, 0, d, e], "int64"), "kt_shape")], out
                )
            else:  # heads -> [batch, length, hidden]
                flat = node("Reshape", [x, constant(np.array([0, 0, c * d], "int64"), "kt_shape")])
                node("MatMul", [flat, constant(w.reshape(c * d, e), "kt_w")], out)
        elif equation == "aecd,abcd->acbe":  # key, query -> scores [batch, head, query, key]
            query = node("Transpose", [y], perm=[0, 2, 1, 3])
            node("MatMul", [query, node("Transpose", [x], perm=[0, 2, 3, 1])], out)
        elif equation == "acbe,aecd->abcd":  # scores, value -> [batch, query, head, dim]
            value = node("Transpose", [y], perm=[0, 2, 1, 3])
            heads = node("MatMul", [x, value])
            node("Transpose", [heads], out, perm=[0, 2, 1, 3])
        else:
            nodes.append(einsum)
    used = {name for n in nodes for name in n.input}
    kept = [w for w in graph.initializer if w.name in used] + added
    del graph.node[:], graph.initializer[:]
    graph.node.extend(nodes)
    graph.initializer.extend(kept)
    onnx.save(model, file)
