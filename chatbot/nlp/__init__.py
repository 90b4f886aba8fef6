"""Korean text processing: normalisation, morphological tokenizers, lemmas, stopwords, features."""
