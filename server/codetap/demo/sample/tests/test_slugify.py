import unittest

from slugkit import slugify, unique_slug


class SlugifyTest(unittest.TestCase):
    def test_basic(self) -> None:
        self.assertEqual(slugify("Hello, World!"), "hello-world")

    def test_accents(self) -> None:
        self.assertEqual(slugify("Crème brûlée à la carte"), "creme-brulee-a-la-carte")

    def test_custom_separator(self) -> None:
        self.assertEqual(slugify("A tale of two cities", sep="_"), "a_tale_of_two_cities")

    def test_max_length_keeps_whole_words(self) -> None:
        self.assertEqual(slugify("The quick brown fox jumps", max_length=15), "the-quick-brown")

    def test_max_length_no_trailing_separator(self) -> None:
        self.assertEqual(slugify("The quick brown fox", max_length=10), "the-quick")

    def test_unique(self) -> None:
        self.assertEqual(unique_slug("Post", {"post", "post-2"}), "post-3")


if __name__ == "__main__":
    unittest.main()
