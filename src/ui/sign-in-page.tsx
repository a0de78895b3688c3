// The sign-in form (one field, `token`, posted once and never echoed back) and the plain message page.
export function LoginPage(props: { error?: string }) {
  return (
    <section class="signin" aria-labelledby="signin">
      <h1 id="signin">Sign in</h1>
      {props.error ? (
        <p role="alert" class="error">
          {props.error}
        </p>
      ) : null}
      <form method="post" action="/ui/login">
        <label>
          Token <input type="password" name="token" required autocomplete="current-password" autofocus />
        </label>
        <button type="submit">Sign in</button>
      </form>
      <p class="muted small">
        An admin token (data/tokens.json or ROLLGATE_ADMIN_TOKENS) can act; a viewer token
        (ROLLGATE_VIEWER_TOKENS) can only read. The token is checked once; the session cookie carries no
        secret.
      </p>
    </section>
  );
}

export function MessagePage(props: { title: string; text: string }) {
  return (
    <section>
      <h1>{props.title}</h1>
      <p role="alert">{props.text}</p>
      <p>
        <a href="/ui">Flags</a> · <a href="/ui/login">Sign in</a>
      </p>
    </section>
  );
}
