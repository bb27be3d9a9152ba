"""Making an answer: prompts, question kinds, multiple choice, open answers, questions
about an article itself."""
