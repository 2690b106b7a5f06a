"""Pure text helpers shared by rewards, eval, data and methods (answer extraction, words, JSON in free text, the
IFEval instruction checkers and their offline NLTK data)."""
