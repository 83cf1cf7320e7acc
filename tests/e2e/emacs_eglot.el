;;; emacs_eglot.el --- stock Emacs + eglot, no plugin, against `codetap lsp'  -*- lexical-binding: t -*-

;; Run by tests/e2e/test_emacs.py as `emacs --batch -q -l emacs_eglot.el' (-q, not -Q:
;; Debian's site-start puts its elpa packages, eglot among them, on the load path).
;; Starts a codetap task with workspace/executeCommand, answers the task's question (asked with
;; window/showMessageRequest), waits for its flymake diagnostic, runs the Accept code
;; action through eglot's own menu and writes what happened to $CT_OUT.
;;
;; Batch Emacs has no user: the prompts eglot shows are answered here by advising
;; `completing-read' (the showMessageRequest choice and the code action menu) and
;; `y-or-n-p' (eglot's "Server wants to edit" confirmation; it must never be needed).

(require 'cl-lib)
(require 'eglot)
(require 'flymake)

(defvar ct-root (directory-file-name (getenv "CT_ROOT")))
(defvar ct-notes nil "Lines for $CT_OUT, newest first.")

(defun ct-note (fmt &rest args)
  (push (apply #'format fmt args) ct-notes))

(defun ct-finish (code)
  (with-temp-file (getenv "CT_OUT")
    (insert (mapconcat #'identity (reverse ct-notes) "\n")))
  (kill-emacs code))

(defun ct-wait (what pred &optional seconds)
  "Process input until PRED is non-nil; error naming WHAT after SECONDS (30)."
  (let ((deadline (+ (float-time) (or seconds 30))))
    (while (not (funcall pred))
      (when (> (float-time) deadline)
        (error "Timed out waiting for %s" what))
      (accept-process-output nil 0.05))))

(defun ct-completing-read (orig prompt collection &rest args)
  (cond
   ((string-match-p "Server reports" prompt)
    (ct-note "asked: %s" (replace-regexp-in-string "\n" " " prompt))
    (ct-note "options: %s" (mapconcat #'identity collection " | "))
    (getenv "CT_ANSWER"))
   ((string-match-p "Pick an action" prompt)
    (let ((accept (cl-find-if (lambda (c) (string-prefix-p "codetap: Accept (" (car c)))
                              collection)))
      (ct-note "actions: %s" (mapconcat #'car collection " | "))
      (or (car accept) (error "No Accept action among %S" (mapcar #'car collection)))))
   (t (apply orig prompt collection args))))

(advice-add 'completing-read :around #'ct-completing-read)
(advice-add 'y-or-n-p :override
            (lambda (prompt) (ct-note "edit prompt: %s" prompt) nil))

(defun ct-codetap-diags ()
  "Flymake diagnostics of the current buffer that codetap published."
  (cl-remove-if-not
   (lambda (d)
     (equal "codetap"
            (plist-get (cdr (assoc 'eglot-lsp-diag (flymake-diagnostic-data d))) :source)))
   (flymake-diagnostics)))

(defun ct-flymake-caught-up ()
  "Let flymake take eglot's latest diagnostics and return codetap's.  Flymake asks eglot
again from an idle timer after each buffer change, and batch Emacs is never idle."
  (flymake-start)
  (ct-codetap-diags))

(condition-case err
    (let ((last-nonmenu-event ?x))  ; a keyboard event: eglot reads menus as text
      (setq eglot-server-programs
            `((python-mode ,(getenv "CT_PYTHON") "-m" "codetap" "lsp")))
      (find-file (expand-file-name "calc.py" ct-root))
      (apply #'eglot (eglot--guess-contact))
      (ct-wait "eglot to connect" (lambda () (eglot-current-server)))
      (flymake-start)
      (let* ((server (eglot-current-server))
             (info (eglot-execute-command
                    server 'codetap.task.start
                    (vector (list :intent "make add add"
                                  :root_uri (eglot--path-to-uri ct-root))))))
        (ct-note "started: %s" (plist-get info :id))
        (ct-wait "codetap diagnostics" #'ct-flymake-caught-up 60)
        (let ((d (car (ct-codetap-diags))))
          (ct-note "diagnostic: %s" (flymake-diagnostic-text d))
          (goto-char (flymake-diagnostic-beg d))
          (eglot-code-actions (flymake-diagnostic-beg d) (flymake-diagnostic-end d) nil t))
        ;; eglot sends didChange from an idle timer too; it runs after the command that
        ;; records the acceptance (the server settles the task once it arrives).
        (eglot--signal-textDocument/didChange)
        (ct-wait "the accepted line"
                 (lambda () (save-excursion (goto-char (point-min)) (forward-line 1)
                              (looking-at-p "    return a \\+ b$"))))
        (ct-wait "the diagnostic to go" (lambda () (null (ct-flymake-caught-up))))
        (ct-note "modified: %s" (if (buffer-modified-p) "yes" "no"))
        (ct-note "buffer:\n%s" (buffer-substring-no-properties (point-min) (point-max)))
        (eglot-shutdown server))
      (ct-finish 0))
  (error (ct-note "ERROR: %s" (error-message-string err))
         (ct-finish 1)))

;;; emacs_eglot.el ends here
