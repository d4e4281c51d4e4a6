from decimal import Context, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sample_app.core import MAX_RESULT_DIGITS, OperandError, add_text, parse_operand, render


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("2", "3", "5"),
        ("-2", "3", "1"),
        ("+2", "-3", "-1"),
        ("1e3", "1", "1001"),
        ("1E+2", "0.000", "100"),
        ("0.1", "0.2", "0.3"),
        ("99999999999999999999", "1", "100000000000000000000"),
        ("1.50", "1", "2.5"),
        ("1e-3", "0", "0.001"),
        ("-0", "0", "0"),
        ("-0", "-0", "0"),
        ("-1.5", "1.5", "0"),
        (".5", "5.", "5.5"),
        ("1e2", "1e-2", "100.01"),
        ("0.1e1", "0", "1"),
        ("123.4500", "0.0000", "123.45"),
    ],
)
def test_adds_exactly_in_plain_notation(left, right, expected):
    assert add_text(left, right) == expected


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "nan",
        "NaN",
        "inf",
        "-Infinity",
        "",
        " 1",
        "1 ",
        "1_000",
        "0x10",
        "1e",
        "e3",
        ".",
        "-",
        "\u0661",
        "\uff11",
        "1.2.3",
        "--1",
        "1e+-3",
        "sNaN",
    ],
)
def test_refuses_what_is_not_a_plain_number(text):
    with pytest.raises(OperandError, match="not a number"):
        parse_operand(text)


def test_refuses_results_too_long_to_print_before_computing():
    with pytest.raises(OperandError, match=f"more than {MAX_RESULT_DIGITS} digits"):
        parse_operand("1e999999999999999999999")
    with pytest.raises(OperandError, match="too large"):
        parse_operand("1e-4300")


def test_accepts_the_largest_printable_operands():
    assert len(add_text("9" * MAX_RESULT_DIGITS, "0")) == MAX_RESULT_DIGITS
    assert add_text(f"1e{MAX_RESULT_DIGITS - 1}", "-1") == "9" * (MAX_RESULT_DIGITS - 1)


def test_error_message_quotes_a_long_operand_on_one_line():
    with pytest.raises(OperandError) as info:
        parse_operand("x\n" * 100)
    message = str(info.value)
    assert "\n" not in message
    assert message.endswith("...'")


def test_render_never_prints_an_exponent_or_trailing_zero():
    assert render(Decimal("1.2300E+5")) == "123000"
    assert render(Decimal("-0.000")) == "0"


finite = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(lambda d: abs(d.adjusted()) < 200)


@given(finite, finite)
def test_sum_equals_decimal_addition(a, b):
    with localcontext(Context(prec=2000)):
        expected = a + b  # exact: 2000 digits exceed any sum drawn here
    assert Decimal(add_text(str(a), str(b))) == expected


@given(finite, finite)
def test_sum_is_plain_without_trailing_zeros(a, b):
    text = add_text(str(a), str(b))
    assert "e" not in text.lower()
    assert not ("." in text and text.endswith("0"))
    assert text != "-0"


@pytest.mark.parametrize("sign", ["", "-"])
def test_the_digit_limit_on_both_sides(sign):
    limit = MAX_RESULT_DIGITS
    assert parse_operand(sign + "9" * limit) == Decimal(sign + "9" * limit)
    with pytest.raises(OperandError, match=f"more than {limit} digits"):
        parse_operand(sign + "9" * (limit + 1))
    assert parse_operand(sign + "0." + "0" * (limit - 2) + "1") == Decimal(sign + "1e-" + str(limit - 1))
    with pytest.raises(OperandError):
        parse_operand(sign + "0." + "0" * (limit - 1) + "1")


@pytest.mark.parametrize("sign", ["", "-"])
def test_a_carry_past_the_limit_is_exact_not_an_overflow(sign):
    # Two operands at the limit may sum to one digit more; that is still exact.
    nines = sign + "9" * MAX_RESULT_DIGITS
    assert add_text(nines, sign + "1") == sign + "1" + "0" * MAX_RESULT_DIGITS
    assert add_text(nines, nines) == sign + "1" + "9" * (MAX_RESULT_DIGITS - 1) + "8"


@pytest.mark.parametrize(("exponent", "ok"), [(MAX_RESULT_DIGITS - 1, True), (MAX_RESULT_DIGITS, False)])
def test_trailing_zeros_count_towards_the_limit(exponent, ok):
    # 1e4300 prints 4,301 digits; its stripped coefficient has one.
    if ok:
        assert len(add_text(f"1e{exponent}", "0")) == MAX_RESULT_DIGITS
    else:
        with pytest.raises(OperandError, match=f"more than {MAX_RESULT_DIGITS} digits"):
            parse_operand(f"1e{exponent}")


@pytest.mark.parametrize(("length", "shown"), [(40, "x" * 40), (41, "x" * 40 + "...")])
def test_an_operand_is_quoted_whole_up_to_40_characters(length, shown):
    with pytest.raises(OperandError) as raised:
        parse_operand("x" * length)
    assert str(raised.value) == f"not a number: {shown!r}"
