"""The one exception family of citeqa: every error a person can cause or fix carries a hint saying how."""


class CiteqaError(Exception):
    """An error with a message for people and, where there is one, the fix."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message
