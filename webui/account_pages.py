"""Account pages (forms with CSRF tokens): register, log in, log out, and personal API tokens."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import delete, select
from werkzeug.wrappers import Response
from wtforms import BooleanField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import EqualTo, InputRequired, Length

from webui.auth import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_MAX,
    AccountError,
    authenticate,
    create_token,
    create_user,
    log_in,
)
from webui.extensions import db
from webui.ratelimit import auth_limit
from webui.tables import ROW_ID, ApiToken

bp = Blueprint("auth", __name__)


class PageForm(FlaskForm):
    """A form that reads only posted form fields. Flask-WTF would also read a JSON body as the form,
    and a JSON body that is not an object (``false``) then crashed it (found by fuzzing)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(formdata=request.form if request.method == "POST" else None, **kwargs)


class LoginForm(PageForm):
    username = StringField("아이디", validators=[InputRequired("아이디를 입력해 주세요."), Length(max=USERNAME_MAX)])
    password = PasswordField("비밀번호",
                             validators=[InputRequired("비밀번호를 입력해 주세요."), Length(max=PASSWORD_MAX)])
    remember = BooleanField("로그인 상태 유지")
    next = HiddenField()
    submit = SubmitField("로그인")


class RegisterForm(PageForm):
    username = StringField("아이디", validators=[InputRequired("아이디를 입력해 주세요."), Length(max=USERNAME_MAX)])
    password = PasswordField("비밀번호", validators=[
        InputRequired("비밀번호를 입력해 주세요."),
        Length(min=PASSWORD_MIN, max=PASSWORD_MAX,
               message=f"비밀번호는 {PASSWORD_MIN}~{PASSWORD_MAX}자로 정해 주세요.")])
    confirm = PasswordField("비밀번호 확인", validators=[EqualTo("password", "비밀번호가 서로 다릅니다.")])
    submit = SubmitField("가입하기")


class TokenForm(PageForm):
    name = StringField("토큰 이름", validators=[Length(max=100)])
    submit = SubmitField("새 토큰 만들기")


class PostForm(PageForm):
    """A button that posts (log out, revoke): nothing but its CSRF token."""


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only (never another host)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("chat.index")


@bp.route("/login", methods=["GET", "POST"])
@auth_limit
def login() -> str | Response:
    """The login form."""
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            log_in(user, remember=bool(form.remember.data))
            return redirect(safe_next(form.next.data))
        form.password.errors.append("아이디나 비밀번호가 맞지 않습니다.")
    return render_template("account/login.html", form=form), 200 if request.method == "GET" else 400


@bp.route("/register", methods=["GET", "POST"])
@auth_limit
def register() -> str | Response:
    """The sign-up form; a new account is logged in at once."""
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = create_user(form.username.data, form.password.data)
            db.session.commit()
        except AccountError as exc:
            db.session.rollback()
            field = form.password if exc.code == "invalid_password" else form.username
            field.errors.append(exc.message)
        else:
            log_in(user)
            flash("가입을 환영합니다! 이제 대화가 계정에 저장됩니다.")
            return redirect(url_for("chat.index"))
    return render_template("account/register.html", form=form), 200 if request.method == "GET" else 400


@bp.post("/logout")
def logout() -> Response:
    """Log out (a POST with a CSRF token, so another site cannot log people out)."""
    form = PostForm()
    if form.validate_on_submit():
        logout_user()
    return redirect(url_for("chat.index"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> str:
    """The account page: who you are, and your API tokens (a new token is shown once)."""
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        _, new_token = create_token(current_user, (form.name.data or "").strip())
        db.session.commit()
    tokens = db.session.execute(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id)).scalars().all()
    return render_template("account/account.html", form=form, tokens=tokens, new_token=new_token,
                           post_form=PostForm())


@bp.post(f"/account/tokens/<{ROW_ID}:token_id>/revoke")
@login_required
def revoke(token_id: int) -> Response:
    """Revoke one of your tokens."""
    if PostForm().validate_on_submit():
        db.session.execute(delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == current_user.id))
        db.session.commit()
    return redirect(url_for("auth.account"))
