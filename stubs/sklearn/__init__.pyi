# Minimal stubs: only the scikit-learn surface trustml calls (see trustml.adapters.sklearn).
__version__: str
