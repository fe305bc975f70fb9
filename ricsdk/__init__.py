"""ricsdk: an O-RAN xApp/rApp SDK and runtime for AI-driven network slicing."""

from ricsdk.errors import RicSdkError

__version__ = "0.1.0"
__all__ = ["RicSdkError", "__version__"]
