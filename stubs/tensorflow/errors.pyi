class OpError(Exception): ...

class InvalidArgumentError(OpError):
    message: str
