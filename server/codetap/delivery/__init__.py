"""Inline diff suggestions: three-way merge of a task's change onto the user's text."""
