"""Pure text helpers shared by rewards, eval and methods (answer extraction, words, JSON in free text)."""
