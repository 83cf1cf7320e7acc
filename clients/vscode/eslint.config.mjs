// Flat config: eslint's recommended rules plus typescript-eslint's type-checked set.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["out/**", "node_modules/**", "src/generated/**", "eslint.config.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "no-restricted-imports": ["error", {
        paths: [{ name: "vscode", message: "vscode API calls live in src/host.ts only." }],
      }],
    },
  },
  {
    files: ["src/host.ts", "src/extension.ts"],
    rules: { "no-restricted-imports": "off" },
  },
);
