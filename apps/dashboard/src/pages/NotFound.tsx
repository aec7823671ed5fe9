// Any unknown hash route.
import { PageTitle } from "../components/PageTitle";

export function NotFound() {
  return (
    <>
      <PageTitle>Page introuvable</PageTitle>
      <p>
        <a href="#/" className="font-medium text-teal-800 underline">
          Retour au tableau de bord
        </a>
      </p>
    </>
  );
}
