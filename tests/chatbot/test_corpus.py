"""Corpus loading and validation: every problem names its file and line, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.corpus import CorpusError, load_corpus


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(paths) -> list[str]:
    with pytest.raises(CorpusError) as excinfo:
        load_corpus(paths)
    problems = excinfo.value.problems
    assert problems and all(isinstance(p, str) for p in problems)
    for p in problems:  # the message lists every problem
        assert p in str(excinfo.value)
    return problems


def only_problem(paths) -> str:
    problems = problems_of(paths)
    assert len(problems) == 1, problems
    return problems[0]


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["yaml", "csv", "tsv", "jsonl"])
def test_each_format_loads_the_tiny_corpus(tiny_corpus, fmt):
    data = load_corpus([tiny_corpus(fmt)])
    assert data.intents == ["food", "greet", "weather"]
    assert len(data.messages) == 27
    by_text = {m.text: m for m in data.messages}
    assert by_text["비 오면 뭐 하지?"].gold_intent == "weather"
    assert by_text["비 오면 뭐 하지?"].gold_answer == "비 오는 날엔 따뜻한 차 한 잔 어때요?"
    assert by_text["안녕하세요"].gold_answer is None
    assert all(m.source and m.source.startswith(str(tiny_corpus(fmt))) for m in data.messages)


def test_yaml_keeps_responses_descriptions_and_source_lines(tiny_corpus):
    path = tiny_corpus("yaml")
    data = load_corpus([path])
    assert data.descriptions["greet"] == "인사하기"
    assert "어서 오세요, 지금은 {time}이에요." in data.responses["greet"]
    first = data.messages[0]
    assert first.text == "안녕하세요"
    line = int(first.source.rsplit(":", 1)[1])
    assert path.read_text(encoding="utf-8").splitlines()[line - 1].strip() == '- "안녕하세요"'


def test_chatbotdata_style_csv_with_padded_label(tmp_path):
    path = write(tmp_path / "ChatbotData.csv",
                 "Q,A,label\n"
                 "오늘 너무 힘들다,푹 쉬세요.,0\n"
                 "헤어졌어,많이 힘드시겠어요.,1\n"
                 "좋아하는 사람 생겼어,설레시겠어요!,2   \n")
    data = load_corpus([path])
    assert [m.gold_intent for m in data.messages] == ["0", "1", "2"]
    assert data.messages[0].gold_answer == "푹 쉬세요."
    assert data.intents == ["0", "1", "2"]


def test_kochat_style_question_label(tmp_path):
    path = write(tmp_path / "kochat.csv",
                 "question,label\n서울 날씨 알려줘,weather\n부산 맛집 추천해줘,restaurant\n내일 미세먼지 어때,dust\n")
    data = load_corpus([path])
    assert [(m.text, m.gold_intent) for m in data.messages] == [
        ("서울 날씨 알려줘", "weather"), ("부산 맛집 추천해줘", "restaurant"), ("내일 미세먼지 어때", "dust")]
    assert all(m.gold_answer is None for m in data.messages)


def test_tsv_with_commas_in_text(tmp_path):
    path = write(tmp_path / "c.tsv", "text\tintent\n안녕, 반가워\tgreet\n비 와, 우산 챙겨\tweather\n")
    data = load_corpus([path])
    assert [m.text for m in data.messages] == ["안녕, 반가워", "비 와, 우산 챙겨"]


def test_jsonl_with_question_and_answer_columns(tmp_path):
    path = write(tmp_path / "c.jsonl",
                 '{"question": "안녕", "label": "greet", "answer": "안녕하세요"}\n\n'
                 '{"question": "비 와?", "label": "weather", "answer": "우산 챙기세요"}\n')
    data = load_corpus([path])
    assert [(m.text, m.gold_intent, m.gold_answer) for m in data.messages] == [
        ("안녕", "greet", "안녕하세요"), ("비 와?", "weather", "우산 챙기세요")]


def test_a_directory_reads_every_corpus_file(tiny_corpus):
    tiny_corpus("yaml", intents=["greet"], name="a.yaml")
    path = tiny_corpus("csv", intents=["food"], name="b.csv")
    (path.parent / "notes.txt").write_text("not a corpus", encoding="utf-8")
    data = load_corpus([path.parent])
    assert data.intents == ["food", "greet"]
    assert len(data.messages) == 18


def test_several_data_paths_are_combined(tiny_corpus):
    a = tiny_corpus("yaml", intents=["greet"], name="a.yaml")
    b = tiny_corpus("jsonl", intents=["weather", "food"], name="b.jsonl")
    data = load_corpus([a, b])
    assert data.intents == ["food", "greet", "weather"]
    assert len(data.messages) == 27


def test_ood_rows_are_kept_with_gold_intent_ood(tiny_corpus):
    path = tiny_corpus("csv", ood=["주식 선물 옵션 만기일", "리눅스 커널 빌드 방법"])
    data = load_corpus([path])
    ood = [m for m in data.messages if m.gold_intent == "OOD"]
    assert [m.text for m in ood] == ["주식 선물 옵션 만기일", "리눅스 커널 빌드 방법"]
    assert [m.gold_intent for m in data.in_domain().messages].count("OOD") == 0


def test_ood_rows_do_not_count_as_a_class(tmp_path):
    path = write(tmp_path / "c.csv", "text,intent\n안녕,greet\n하이,greet\n주식 선물,OOD\n")
    assert "only one class" in only_problem([path])


def test_the_bundled_corpus_is_valid():
    corpus = Path(__file__).resolve().parents[2] / "data" / "corpus"
    data = load_corpus([corpus])
    intents = [i for i in data.intents if i != "OOD"]
    assert len(intents) >= 30
    assert all(len(data.responses.get(i, [])) >= 2 for i in intents)


# --- validation errors ----------------------------------------------------------------------


def test_missing_column(tmp_path):
    path = write(tmp_path / "c.csv", "question,answer\n안녕,안녕하세요\n")
    problem = only_problem([path])
    assert problem.startswith(f"{path}:1:")
    assert "missing column" in problem and "intent" in problem


def test_missing_column_in_jsonl(tmp_path):
    path = write(tmp_path / "c.jsonl", '{"text": "안녕"}\n')
    problem = only_problem([path])
    assert problem.startswith(f"{path}:1:") and "missing column" in problem


def test_empty_text_names_the_csv_line(tmp_path):
    path = write(tmp_path / "c.csv", "text,intent\n안녕,greet\n비 와?,weather\n,greet\n하이,greet\n")
    problem = only_problem([path])
    assert problem.startswith(f"{path}:4:")
    assert "empty text" in problem


def test_empty_text_line_counts_a_quoted_multiline_field_before_it(tmp_path):
    path = write(tmp_path / "c.csv",
                 'text,intent,answer\n'
                 '"첫 줄\n둘째 줄\n셋째 줄",greet,"답\n이어서"\n'
                 '비 와?,weather,응\n'
                 ',greet,답\n')
    problem = only_problem([path])
    assert problem.startswith(f"{path}:7:"), problem
    assert "empty text" in problem


def test_empty_text_line_counts_a_blank_line_before_it(tmp_path):
    path = write(tmp_path / "c.csv", "text,intent\n안녕,greet\n\n,weather\n")
    problem = only_problem([path])
    assert problem.startswith(f"{path}:4:"), problem  # line 3 is blank; the bad row is on line 4


def test_empty_intent(tmp_path):
    path = write(tmp_path / "c.csv", "text,intent\n안녕,greet\n비 와?,\n밥 먹자,food\n")
    problem = only_problem([path])
    assert problem.startswith(f"{path}:3:")
    assert "empty intent" in problem


def test_one_class_only(tmp_path):
    path = write(tmp_path / "c.csv", "text,intent\n안녕,greet\n하이,greet\n")
    problem = only_problem([path])
    assert str(path) in problem
    assert "only one class" in problem and "greet" in problem


def test_not_utf8_names_the_line_of_the_first_bad_byte(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes("text,intent\n안녕,greet\n비 와?,weather\n".encode("cp949"))
    problem = only_problem([path])
    assert problem.startswith(f"{path}:2:")
    assert "UTF-8" in problem


def test_a_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes("text,intent\n안녕,greet\n비 와?,weather\n".encode("utf-8-sig"))
    assert [m.text for m in load_corpus([path]).messages] == ["안녕", "비 와?"]


def test_yaml_syntax_error(tmp_path):
    path = write(tmp_path / "c.yaml",
                 "version: 1\n"
                 "intents:\n"
                 "  - intent: greet\n"
                 "    examples:\n"
                 "      - 안녕\n"
                 "     - 하이\n")
    problem = only_problem([path])
    assert problem.startswith(f"{path}:6:"), problem
    assert "YAML syntax error" in problem


def test_unknown_yaml_key(tmp_path):
    path = write(tmp_path / "c.yaml",
                 "version: 1\n"
                 "intents:\n"
                 "  - intent: greet\n"
                 "    exmaples:\n"
                 "      - 안녕\n"
                 "    examples:\n"
                 "      - 하이\n"
                 "  - intent: bye\n"
                 "    examples: [잘 가]\n")
    problem = only_problem([path])
    assert problem.startswith(f"{path}:4:"), problem
    assert "exmaples" in problem


def test_bad_template_field(tmp_path):
    path = write(tmp_path / "c.yaml",
                 "version: 1\n"
                 "intents:\n"
                 "  - intent: greet\n"
                 "    examples: [안녕, 하이]\n"
                 "    responses:\n"
                 "      - 안녕하세요\n"
                 '      - "지금은 {foo}이에요"\n'
                 "  - intent: bye\n"
                 "    examples: [잘 가]\n")
    problem = only_problem([path])
    assert problem.startswith(f"{path}:7:"), problem
    assert "foo" in problem


def test_bad_template_field_in_a_pair_answer(tmp_path):
    path = write(tmp_path / "c.yaml",
                 "version: 1\n"
                 "intents:\n"
                 "  - intent: greet\n"
                 "    pairs:\n"
                 "      - q: 안녕\n"
                 '        a: "반가워요 {user}"\n'
                 "  - intent: bye\n"
                 "    examples: [잘 가]\n")
    problem = only_problem([path])
    assert problem.startswith(f"{path}:6:"), problem
    assert "user" in problem


def test_jsonl_invalid_json(tmp_path):
    path = write(tmp_path / "c.jsonl",
                 '{"text": "안녕", "intent": "greet"}\n'
                 '{"text": "비 와?", "intent": "weather"}\n'
                 '{"text": "깨진 줄", "intent": \n'
                 '{"text": "밥 먹자", "intent": "food"}\n')
    problem = only_problem([path])
    assert problem.startswith(f"{path}:3:"), problem
    assert "invalid JSON" in problem


def test_all_problems_are_reported_at_once(tmp_path):
    path = write(tmp_path / "c.csv", "text,intent\n안녕,greet\n,greet\n비 와?,weather\n밥 먹자,\n")
    problems = problems_of([path])
    assert len(problems) == 2, problems
    assert problems[0].startswith(f"{path}:3:") and "empty text" in problems[0]
    assert problems[1].startswith(f"{path}:5:") and "empty intent" in problems[1]


def test_problems_from_several_files_are_reported_together(tmp_path):
    bad_csv = write(tmp_path / "a.csv", "text,intent\n,greet\n안녕,greet\n")
    bad_yaml = write(tmp_path / "b.yaml", "version: 1\nintents:\n  - intent: bye\n    exampels: [잘 가]\n")
    problems = problems_of([bad_csv, bad_yaml])
    assert any(p.startswith(f"{bad_csv}:2:") for p in problems), problems
    assert any(p.startswith(f"{bad_yaml}:4:") for p in problems), problems


def test_missing_path(tmp_path):
    problem = only_problem([tmp_path / "nope.csv"])
    assert "nope.csv" in problem


def test_directory_without_corpus_files(tmp_path):
    (tmp_path / "readme.txt").write_text("hello", encoding="utf-8")
    problem = only_problem([tmp_path])
    assert str(tmp_path) in problem


def test_corpus_error_is_a_value_error():
    assert issubclass(CorpusError, ValueError)
    error = CorpusError(["a.csv:2: empty text", "a.csv:3: empty intent"])
    assert error.problems == ["a.csv:2: empty text", "a.csv:3: empty intent"]
    assert "2 problem" in str(error)
